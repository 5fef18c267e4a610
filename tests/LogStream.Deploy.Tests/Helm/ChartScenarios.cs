using System.Collections.Concurrent;

namespace LogStream.Deploy.Tests.Helm;

/// <summary>
/// Renders the chart once per set of values (helm template is run at most once per scenario per test run) and
/// names the scenarios the tests share.
/// </summary>
internal static class ChartScenarios
{
    public const string Release = "logstream";
    public const string Namespace = "logstream";

    public static readonly string[] Defaults = [];
    public static readonly string[] ExternalRedis = ["--set", "redis.enabled=false", "--set-string", "redis.external.connectionString=redis.example.internal:6380\\,password=ext-redis-pass-4711\\,ssl=true"];
    public static readonly string[] ExternalRedisExistingSecret = ["--set", "redis.enabled=false", "--set", "redis.external.existingSecret=shared-redis", "--set", "redis.external.existingSecretKey=conn"];
    public static readonly string[] FiveReplicas = ["--set", "replicas=5"];
    public static readonly string[] FiveReplicasRf5 = ["--set", "replicas=5", "--set", "ring.replicationFactor=5"];
    public static readonly string[] ChaosOn = ["--set", "chaos.enabled=true"];
    public static readonly string[] ExistingSecret = ["--set", "security.existingSecret=ops-logstream", "--set", "security.existingSecretKeys.clusterSecret=internal", "--set", "security.existingSecretKeys.apiKeys={primary,secondary}"];
    public static readonly string[] ApiKeys = ["--set", "security.apiKeys={key-one-0123456789abcdef,key-two-0123456789abcdef}", "--set", "security.clusterSecret=given-cluster-secret-0123456789"];
    public static readonly string[] ServiceMonitor = ["--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=kube-prometheus-stack"];
    public static readonly string[] NoPersistence = ["--set", "persistence.enabled=false"];
    public static readonly string[] NoZoneLookup = ["--set", "zoneLookup.enabled=false"];
    public static readonly string[] HardAntiAffinity = ["--set", "placement.antiAffinity=hard", "--set", "placement.zoneSpread=DoNotSchedule"];
    public static readonly string[] RedisWithoutAuth = ["--set", "redis.auth.enabled=false"];
    public static readonly string[] OldKubernetes = ["--kube-version", "1.29.0"];

    /// <summary>Every scenario that must render and lint, by name.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> All = new Dictionary<string, string[]>
    {
        [nameof(Defaults)] = Defaults,
        [nameof(ExternalRedis)] = ExternalRedis,
        [nameof(ExternalRedisExistingSecret)] = ExternalRedisExistingSecret,
        [nameof(FiveReplicas)] = FiveReplicas,
        [nameof(FiveReplicasRf5)] = FiveReplicasRf5,
        [nameof(ChaosOn)] = ChaosOn,
        [nameof(ExistingSecret)] = ExistingSecret,
        [nameof(ApiKeys)] = ApiKeys,
        [nameof(ServiceMonitor)] = ServiceMonitor,
        [nameof(NoPersistence)] = NoPersistence,
        [nameof(NoZoneLookup)] = NoZoneLookup,
        [nameof(HardAntiAffinity)] = HardAntiAffinity,
        [nameof(RedisWithoutAuth)] = RedisWithoutAuth,
        [nameof(OldKubernetes)] = OldKubernetes,
    };

    public static IEnumerable<object[]> Names => All.Keys.Select(k => new object[] { k });

    private static readonly ConcurrentDictionary<string, Lazy<RenderedChart>> Cache = new();

    public static RenderedChart Render(params string[] values)
    {
        var helm = HelmCli.Require();
        return Cache.GetOrAdd(string.Join('\u001f', values), _ => new Lazy<RenderedChart>(() =>
        {
            var result = helm.Run(TemplateArguments(values));
            Assert.True(result.Succeeded, $"helm template {string.Join(' ', values)} failed: {result}");
            return new RenderedChart(result.StandardOutput, YamlJson.LoadDocuments(result.StandardOutput));
        })).Value;
    }

    /// <summary>helm template's answer without asserting success (for values the schema must reject).</summary>
    public static ProcessResult TryRender(params string[] values) => HelmCli.Require().Run(TemplateArguments(values));

    private static string[] TemplateArguments(string[] values) =>
        ["template", Release, RepositoryPaths.Chart, "--namespace", Namespace, .. values];
}
