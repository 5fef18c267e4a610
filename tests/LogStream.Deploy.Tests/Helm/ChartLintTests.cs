namespace LogStream.Deploy.Tests.Helm;

/// <summary><c>helm lint --strict</c> with the default values and every alternative the tests render.</summary>
public sealed class ChartLintTests
{
    [SkippableTheory]
    [MemberData(nameof(ChartScenarios.Names), MemberType = typeof(ChartScenarios))]
    public void ChartLintsCleanly(string scenario)
    {
        var values = ChartScenarios.All[scenario].Where(v => v != "--kube-version" && v != "1.29.0").ToArray();
        var result = HelmCli.Require().Run(["lint", "--strict", RepositoryPaths.Chart, "--namespace", ChartScenarios.Namespace, .. values]);
        Assert.True(result.Succeeded, $"helm lint ({scenario}): {result}");
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", result.StandardOutput);
        Assert.DoesNotContain("[WARNING]", result.StandardOutput);
        Assert.DoesNotContain("[ERROR]", result.StandardOutput);
    }
}
