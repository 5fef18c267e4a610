using k8s;

namespace LogStream.Deploy.Tests.Helm;

/// <summary>
/// No API server here to validate against, so every rendered object is read strictly into KubernetesClient's
/// generated models (from the Kubernetes OpenAPI): a misspelt or misplaced field fails the test.
/// </summary>
public sealed class KubernetesModelTests
{
    [SkippableTheory]
    [MemberData(nameof(ChartScenarios.Names), MemberType = typeof(ChartScenarios))]
    public void EveryRenderedObjectIsAKnownKubernetesObjectWithNoUnknownFields(string scenario)
    {
        var chart = ChartScenarios.Render(ChartScenarios.All[scenario]);
        foreach (var o in chart.Objects)
        {
            var kind = o.Str("kind");
            if (kind == "ServiceMonitor")
            {
                continue; // a prometheus-operator CRD: not in the client's models (asserted in ChartAlternativesTests)
            }

            try
            {
                var loaded = Assert.Single(KubernetesYaml.LoadAllFromString(o.ToJsonString(), strict: true));
                Assert.IsAssignableFrom<IKubernetesObject>(loaded);
                Assert.Equal(kind, ((IKubernetesObject)loaded).Kind);
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"{scenario}: {kind}/{o.Str("metadata/name")} is not a valid Kubernetes object: {ex.Message}");
            }
        }
    }
}
