using LogStream.Node;
using LogStream.Node.Membership.Kubernetes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace LogStream.Deploy.Tests.Zone;

/// <summary>
/// The zone lookup against a local HTTPS stub of the Kubernetes API, through the in-cluster path: host and port
/// from KUBERNETES_SERVICE_HOST/PORT, bearer token and cluster CA from the service-account folder.
/// </summary>
public sealed class KubernetesZoneResolverTests : IAsyncLifetime
{
    private const string PodPath = "/api/v1/namespaces/logstream/pods/logstream-1";
    private const string NodePath = "/api/v1/nodes/kind-worker2";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TestCertificates _certificates = TestCertificates.Create();
    private readonly string _token = $"stub-token-{Guid.NewGuid():N}";
    private readonly FakeLogger<KubernetesZoneResolver> _logger = new();
    private ServiceAccountFolder _serviceAccount = null!;
    private KubernetesApiStub _api = null!;

    public async Task InitializeAsync()
    {
        _serviceAccount = new ServiceAccountFolder(_token, _certificates.CaPem);
        _api = await KubernetesApiStub.StartAsync(_certificates, _token);
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _serviceAccount.Dispose();
        _certificates.Dispose();
    }

    private KubernetesZoneResolver Resolver(string? configuredZone = null, TimeSpan? timeout = null, params (string Key, string? Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
            ["KUBERNETES_SERVICE_PORT"] = _api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["POD_NAME"] = "logstream-1",
            ["POD_NAMESPACE"] = "logstream",
        };
        foreach (var (key, value) in settings)
            values[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var options = new KubernetesOptions { ServiceAccountPath = _serviceAccount.Path, Timeout = timeout ?? TimeSpan.FromSeconds(10) };
        return new KubernetesZoneResolver(
            Options.Create(new NodeOptions { NodeId = "logstream-1", DataDirectory = "/data", Zone = configuredZone }),
            Options.Create(options), configuration, TimeProvider.System, _logger);
    }

    private static Task<string?> Resolve(KubernetesZoneResolver resolver) =>
        resolver.ResolveZoneAsync(CancellationToken.None).AsTask().WaitAsync(Deadline);

    private FakeLogRecord SingleWarning()
    {
        var warnings = _logger.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).ToList();
        return Assert.Single(warnings);
    }

    [Fact]
    public async Task ReadsTheZoneLabelOfThePodsKubernetesNodeWithTheServiceAccountToken()
    {
        _api.Serve(PodPath, "pod-logstream-1.json").Serve(NodePath, "node-kind-worker2-zone.json");

        Assert.Equal("eu-west-1b", await Resolve(Resolver()));

        Assert.Equal([PodPath, NodePath], _api.Requests.Select(r => r.Path));
        Assert.All(_api.Requests, r => Assert.Equal($"Bearer {_token}", r.Authorization));
        var found = _logger.LatestRecord;
        Assert.Equal(LogLevel.Information, found.Level);
        Assert.Equal("Zone eu-west-1b from label topology.kubernetes.io/zone of Kubernetes node kind-worker2 (pod logstream/logstream-1)", found.Message);
    }

    [Fact]
    public async Task TakesTheNamespaceFromTheServiceAccountWhenPodNamespaceIsUnset()
    {
        _api.Serve(PodPath, "pod-logstream-1.json").Serve(NodePath, "node-kind-worker2-zone.json");

        Assert.Equal("eu-west-1b", await Resolve(Resolver(settings: ("POD_NAMESPACE", null))));
        Assert.Equal(PodPath, _api.Requests.First().Path);
    }

    [Fact]
    public async Task FallsBackToTheDeprecatedFailureDomainZoneLabel()
    {
        _api.Serve(PodPath, "pod-logstream-1.json").Serve(NodePath, "node-kind-worker2-legacy-zone.json");

        Assert.Equal("us-east-1a", await Resolve(Resolver()));
        Assert.Contains("failure-domain.beta.kubernetes.io/zone", _logger.LatestRecord.Message);
    }

    [Fact]
    public async Task NodeWithoutZoneLabelsGivesNoZoneAndSaysWhich()
    {
        _api.Serve(PodPath, "pod-logstream-1.json").Serve(NodePath, "node-kind-worker2-no-zone.json");

        Assert.Null(await Resolve(Resolver()));
        Assert.Equal(
            "Kubernetes node kind-worker2 has neither label topology.kubernetes.io/zone nor failure-domain.beta.kubernetes.io/zone. The node starts with no zone",
            SingleWarning().Message);
    }

    [Fact]
    public async Task RbacDenyingTheNodeReadGivesNoZoneAndSaysSo()
    {
        _api.Serve(PodPath, "pod-logstream-1.json").Serve(NodePath, "status-forbidden-node.json", status: 403);

        Assert.Null(await Resolve(Resolver()));

        var warning = SingleWarning();
        Assert.Equal(3, warning.Id.Id);
        Assert.StartsWith("Zone lookup refused by the Kubernetes API (HTTP 403 Forbidden) reading node kind-worker2: " +
            "nodes \"kind-worker2\" is forbidden: User \"system:serviceaccount:logstream:logstream\" cannot get resource \"nodes\"", warning.Message);
        Assert.Contains("The node starts with no zone", warning.Message);
        Assert.Contains("get on nodes", warning.Message);
    }

    [Fact]
    public async Task RbacDenyingThePodReadGivesNoZoneWithoutAskingForTheNode()
    {
        _api.Serve(PodPath, "status-forbidden-pod.json", status: 403);

        Assert.Null(await Resolve(Resolver()));

        Assert.Equal([PodPath], _api.Requests.Select(r => r.Path));
        Assert.Contains("reading pod logstream/logstream-1: pods \"logstream-1\" is forbidden", SingleWarning().Message);
    }

    [Fact]
    public async Task RejectedTokenGivesNoZoneAndSaysSo()
    {
        File.WriteAllText(Path.Combine(_serviceAccount.Path, "token"), "a-token-the-api-server-does-not-know");
        _api.Serve(PodPath, "pod-logstream-1.json");

        Assert.Null(await Resolve(Resolver()));
        Assert.Contains("(HTTP 401 Unauthorized) reading pod logstream/logstream-1: Unauthorized", SingleWarning().Message);
    }

    [Fact]
    public async Task ConfiguredZoneWinsAndTheApiIsNotAsked()
    {
        Assert.Equal("rack-7", await Resolve(Resolver(configuredZone: "rack-7")));
        Assert.Empty(_api.Requests);
        Assert.Contains("from configuration (LogStream:Zone)", _logger.LatestRecord.Message);
    }

    [Fact]
    public async Task SlowApiServerGivesNoZoneAfterTheTimeout()
    {
        _api.Hang(PodPath);

        Assert.Null(await Resolve(Resolver(timeout: TimeSpan.FromSeconds(1))));
        Assert.StartsWith("Zone lookup timed out after 00:00:01 reading pod logstream/logstream-1", SingleWarning().Message);
    }

    [Fact]
    public async Task MissingServiceAccountTokenGivesNoZoneWithoutCallingTheApi()
    {
        _serviceAccount.RemoveToken();

        Assert.Null(await Resolve(Resolver()));
        Assert.Empty(_api.Requests);
        Assert.Contains("automountServiceAccountToken", SingleWarning().Message);
    }

    [Fact]
    public async Task ApiServerWithACertificateFromAnotherCaIsNotTrusted()
    {
        using var otherCa = TestCertificates.Create();
        File.WriteAllText(Path.Combine(_serviceAccount.Path, "ca.crt"), otherCa.CaPem);
        _api.Serve(PodPath, "pod-logstream-1.json").Serve(NodePath, "node-kind-worker2-zone.json");

        Assert.Null(await Resolve(Resolver()));
        var warning = SingleWarning();
        Assert.Equal(4, warning.Id.Id);
        Assert.StartsWith("Zone lookup failed reading pod logstream/logstream-1", warning.Message);
    }

    [Fact]
    public async Task CallerThatGivesUpEarlyAwaitsTheSameLookupOnItsNextTry()
    {
        _api.Serve(PodPath, "pod-logstream-1.json").Serve(NodePath, "node-kind-worker2-zone.json", delay: TimeSpan.FromMilliseconds(600));
        var resolver = Resolver();

        using (var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => resolver.ResolveZoneAsync(impatient.Token).AsTask().WaitAsync(Deadline));

        Assert.Equal("eu-west-1b", await Resolve(resolver));
        Assert.Equal("eu-west-1b", await Resolve(resolver));
        Assert.Equal([PodPath, NodePath], _api.Requests.Select(r => r.Path));
    }
}
