using System.Text;
using System.Text.Json.Nodes;
using static LogStream.Deploy.Tests.Helm.ChartDefaultsTests;
using static LogStream.Deploy.Tests.Helm.RenderedChart;

namespace LogStream.Deploy.Tests.Helm;

/// <summary>The chart rendered with the alternatives operators ask for.</summary>
public sealed class ChartAlternativesTests
{
    [SkippableFact]
    public void ExternalRedisReplacesTheBuiltInOneAndItsConnectionStringStaysInASecret()
    {
        var chart = ChartScenarios.Render(ChartScenarios.ExternalRedis);
        Assert.Null(chart.Find("StatefulSet", "logstream-redis"));
        Assert.Null(chart.Find("Service", "logstream-redis"));

        var node = chart.NodeContainer;
        AssertSecretRef(node, "ConnectionStrings__redis", "logstream-redis", "redis-connection-string");
        Assert.False(HasEnv(node, "REDIS_PASSWORD"));
        var secret = chart.Single("Secret", "logstream-redis");
        Assert.Equal("redis.example.internal:6380,password=ext-redis-pass-4711,ssl=true",
            Encoding.UTF8.GetString(Convert.FromBase64String(secret.Str("data/redis-connection-string")!)));
        Assert.DoesNotContain("ext-redis-pass-4711", chart.NodeStatefulSet.ToJsonString());
    }

    [SkippableFact]
    public void ExternalRedisCanComeFromAnExistingSecret()
    {
        var chart = ChartScenarios.Render(ChartScenarios.ExternalRedisExistingSecret);
        AssertSecretRef(chart.NodeContainer, "ConnectionStrings__redis", "shared-redis", "conn");
        Assert.Null(chart.Find("Secret", "logstream-redis"));
        Assert.Null(chart.Find("StatefulSet", "logstream-redis"));
    }

    [SkippableFact]
    public void FiveReplicasAtReplicationFactorThreeStillLetOnlyOneNodeGo()
    {
        var chart = ChartScenarios.Render(ChartScenarios.FiveReplicas);
        Assert.Equal(5, (int)chart.NodeStatefulSet.At("spec/replicas")!);
        Assert.Equal("3", EnvValue(chart.NodeContainer, "LogStream__Ring__ReplicationFactor"));
        Assert.Equal(1, (int)chart.Single("PodDisruptionBudget", "logstream").At("spec/maxUnavailable")!);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"logstream-{i}"),
            Assert.Single(chart.OfKind("Role")).Arr("rules/0/resourceNames").Select(n => n!.ToString()));
    }

    [SkippableFact]
    public void ReplicationFactorFiveLetsTwoNodesGoAndReachesTheNodes()
    {
        var chart = ChartScenarios.Render(ChartScenarios.FiveReplicasRf5);
        Assert.Equal("5", EnvValue(chart.NodeContainer, "LogStream__Ring__ReplicationFactor"));
        Assert.Equal(2, (int)chart.Single("PodDisruptionBudget", "logstream").At("spec/maxUnavailable")!);
    }

    [SkippableTheory]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(3, 1)]
    [InlineData(4, 1)]
    [InlineData(5, 2)]
    [InlineData(7, 3)]
    [InlineData(9, 4)]
    public void DisruptionBudgetNeverLetsAQuorumBreak(int replicationFactor, int expectedMaxUnavailable)
    {
        var chart = ChartScenarios.Render("--set", $"replicas=9", "--set", $"ring.replicationFactor={replicationFactor}");
        var maxUnavailable = (int)chart.Single("PodDisruptionBudget", "logstream").At("spec/maxUnavailable")!;
        Assert.Equal(expectedMaxUnavailable, maxUnavailable);
        var quorum = replicationFactor / 2 + 1;
        Assert.True(replicationFactor - maxUnavailable >= quorum, $"RF {replicationFactor} keeps a quorum of {quorum}");
    }

    [SkippableFact]
    public void ChaosCanBeSwitchedOnForDemoClusters()
    {
        var chart = ChartScenarios.Render(ChartScenarios.ChaosOn);
        Assert.Equal("true", EnvValue(chart.NodeContainer, "LogStream__Chaos__Enabled"));
        Assert.Equal("true", EnvValue(Container(chart.Single("Deployment", "logstream-web"), "web"), "LogStream__Chaos__Enabled"));
    }

    [SkippableFact]
    public void ExistingSecretSuppliesTheClusterSecretAndApiKeys()
    {
        var chart = ChartScenarios.Render(ChartScenarios.ExistingSecret);
        Assert.Null(chart.Find("Secret", "logstream-security"));
        var node = chart.NodeContainer;
        AssertSecretRef(node, "LogStream__Security__ClusterSecret", "ops-logstream", "internal");
        AssertSecretRef(node, "LogStream__Security__ApiKeys__0", "ops-logstream", "primary");
        AssertSecretRef(node, "LogStream__Security__ApiKeys__1", "ops-logstream", "secondary");
        Assert.False(HasEnv(node, "LogStream__Security__ApiKeys__2"));
        AssertSecretRef(Container(chart.Single("Deployment", "logstream-web"), "web"), "LogStream__ApiKey", "ops-logstream", "primary");
    }

    [SkippableFact]
    public void GivenApiKeysAndClusterSecretGoIntoTheSecretAndAreReferenced()
    {
        var chart = ChartScenarios.Render(ChartScenarios.ApiKeys);
        var secret = chart.Single("Secret", "logstream-security");
        string Decoded(string key) => Encoding.UTF8.GetString(Convert.FromBase64String(secret.Str($"data/{key}")!));
        Assert.Equal("given-cluster-secret-0123456789", Decoded("cluster-secret"));
        Assert.Equal("key-one-0123456789abcdef", Decoded("api-key-0"));
        Assert.Equal("key-two-0123456789abcdef", Decoded("api-key-1"));

        var node = chart.NodeContainer;
        AssertSecretRef(node, "LogStream__Security__ApiKeys__0", "logstream-security", "api-key-0");
        AssertSecretRef(node, "LogStream__Security__ApiKeys__1", "logstream-security", "api-key-1");
        // The dashboard calls the nodes' API, so it carries the first key.
        AssertSecretRef(Container(chart.Single("Deployment", "logstream-web"), "web"), "LogStream__ApiKey", "logstream-security", "api-key-0");
        foreach (var other in chart.Objects.Where(o => o.Str("kind") != "Secret").Select(o => o.ToJsonString()))
        {
            Assert.DoesNotContain("key-one-0123456789abcdef", other);
            Assert.DoesNotContain("given-cluster-secret-0123456789", other);
        }
    }

    [SkippableFact]
    public void ServiceMonitorScrapesEveryNodeThroughTheHeadlessService()
    {
        var chart = ChartScenarios.Render(ChartScenarios.ServiceMonitor);
        var monitor = Assert.Single(chart.OfKind("ServiceMonitor"));
        Assert.Equal("monitoring.coreos.com/v1", monitor.Str("apiVersion"));
        Assert.Equal("kube-prometheus-stack", monitor.Str("metadata/labels/release"));
        var endpoint = Assert.Single(monitor.Arr("spec/endpoints"))!;
        Assert.Equal(("http", "/metrics"), (endpoint.Str("port"), endpoint.Str("path")));

        // The selector matches the headless Service (every pod, ready or not) and not the client Service.
        var selector = monitor.Obj("spec/selector/matchLabels");
        bool Matches(JsonObject service) => selector.All(kv => service.Str("metadata/labels")?.Length > 0 &&
            service.Obj("metadata/labels")[kv.Key]?.ToString() == kv.Value!.ToString());
        Assert.True(Matches(chart.Single("Service", "logstream-headless")));
        Assert.False(Matches(chart.Single("Service", "logstream")));
        Assert.Contains(chart.Single("Service", "logstream-headless").Arr("spec/ports"), p => p!.Str("name") == "http");
    }

    [SkippableFact]
    public void WithoutPersistenceTheDataLivesInAnEmptyDir()
    {
        var chart = ChartScenarios.Render(ChartScenarios.NoPersistence);
        Assert.Null(chart.NodeStatefulSet.At("spec/volumeClaimTemplates"));
        Assert.Null(chart.NodeStatefulSet.At("spec/persistentVolumeClaimRetentionPolicy"));
        var data = chart.NodeStatefulSet.Arr("spec/template/spec/volumes").Single(v => v!.Str("name") == "data")!;
        Assert.NotNull(data.At("emptyDir"));
    }

    [SkippableFact]
    public void WithoutZoneLookupThereIsNoRbacAndNoApiToken()
    {
        var chart = ChartScenarios.Render(ChartScenarios.NoZoneLookup);
        Assert.Empty(chart.OfKind("Role"));
        Assert.Empty(chart.OfKind("ClusterRole"));
        Assert.Empty(chart.OfKind("RoleBinding"));
        Assert.Empty(chart.OfKind("ClusterRoleBinding"));
        Assert.False((bool)chart.NodeStatefulSet.At("spec/template/spec/automountServiceAccountToken")!);
        Assert.Equal("false", EnvValue(chart.NodeContainer, "LogStream__Kubernetes__ZoneLookup"));
    }

    [SkippableFact]
    public void HardPlacementRequiresDistinctHostsAndZones()
    {
        var chart = ChartScenarios.Render(ChartScenarios.HardAntiAffinity);
        var pod = chart.NodeStatefulSet.Obj("spec/template/spec");
        var required = Assert.Single(pod.Arr("affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution"))!;
        Assert.Equal("kubernetes.io/hostname", required.Str("topologyKey"));
        Assert.Equal("DoNotSchedule", pod.Str("topologySpreadConstraints/0/whenUnsatisfiable"));
    }

    [SkippableFact]
    public void RedisWithoutAuthNeedsNoPassword()
    {
        var chart = ChartScenarios.Render(ChartScenarios.RedisWithoutAuth);
        Assert.Equal("logstream-redis:6379", EnvValue(chart.NodeContainer, "ConnectionStrings__redis"));
        Assert.False(HasEnv(chart.NodeContainer, "REDIS_PASSWORD"));
        Assert.Null(chart.Find("Secret", "logstream-redis"));
        Assert.DoesNotContain("--requirepass", Container(chart.Single("StatefulSet", "logstream-redis"), "redis").Arr("args").Select(a => a!.ToString()));
    }

    [SkippableFact]
    public void KubernetesBefore130GetsNoPreStopSleepAction()
    {
        var chart = ChartScenarios.Render(ChartScenarios.OldKubernetes);
        Assert.Null(chart.NodeContainer.At("lifecycle"));
        Assert.Equal(60, (int)chart.NodeStatefulSet.At("spec/template/spec/terminationGracePeriodSeconds")!);
    }

    [SkippableFact]
    public void OtlpEndpointReachesNodesAndDashboard()
    {
        var chart = ChartScenarios.Render("--set", "otel.endpoint=http://otel-collector.monitoring:4317");
        Assert.Equal("http://otel-collector.monitoring:4317", EnvValue(chart.NodeContainer, "OTEL_EXPORTER_OTLP_ENDPOINT"));
        Assert.Equal("http://otel-collector.monitoring:4317",
            EnvValue(Container(chart.Single("Deployment", "logstream-web"), "web"), "OTEL_EXPORTER_OTLP_ENDPOINT"));
    }

    [SkippableFact]
    public void ImageRepositoriesAndTagsAreConfigurable()
    {
        var chart = ChartScenarios.Render("--set", "image.repository=registry.example/logstream-node", "--set", "image.tag=2.3.4",
            "--set", "web.image.repository=registry.example/logstream-web", "--set", "web.image.tag=2.3.4-rc.1");
        Assert.Equal("registry.example/logstream-node:2.3.4", chart.NodeContainer.Str("image"));
        Assert.Equal("registry.example/logstream-web:2.3.4-rc.1", Container(chart.Single("Deployment", "logstream-web"), "web").Str("image"));
    }

    [SkippableFact]
    public void ScrapeAnnotationsCanBeTurnedOffAndOwnPodAnnotationsKept()
    {
        var off = ChartScenarios.Render("--set", "metrics.podAnnotations=false");
        Assert.Null(off.NodeStatefulSet.At("spec/template/metadata/annotations"));

        var merged = ChartScenarios.Render("--set", "podAnnotations.team=logs");
        var annotations = merged.NodeStatefulSet.Obj("spec/template/metadata/annotations");
        Assert.Equal("logs", annotations["team"]!.ToString());
        Assert.Equal("true", annotations["prometheus.io/scrape"]!.ToString());
    }
}
