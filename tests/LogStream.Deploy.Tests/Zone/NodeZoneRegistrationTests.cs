using System.Net;
using LogStream.Node;
using LogStream.Node.Membership;
using LogStream.Node.Membership.Kubernetes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace LogStream.Deploy.Tests.Zone;

/// <summary>The real node host (AddServiceDefaults + AddLogStreamNode) choosing and using its zone resolver.</summary>
public sealed class NodeZoneRegistrationTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("logstream-deploy-node-");

    public void Dispose() => _data.Delete(recursive: true);

    private readonly int _publicPort = FreeTcpPort();

    private static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private WebApplicationBuilder NodeBuilder(IDictionary<string, string?> settings, FakeLogCollector? logs = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LogStream:NodeId"] = "logstream-1",
            ["LogStream:DataDirectory"] = _data.FullName,
            // Nothing listens on port 1: membership stays unreachable (degraded), which this test does not need.
            ["ConnectionStrings:redis"] = "127.0.0.1:1",
            // Required since the replication work; any 16+ characters do for a node that talks to no peer.
            ["LogStream:Security:ClusterSecret"] = "zone-tests-cluster-secret",
            // Whatever this machine's environment says, these tests decide whether we are in a pod.
            ["KUBERNETES_SERVICE_HOST"] = "",
            ["KUBERNETES_SERVICE_PORT"] = "",
            // Free ports, not the 5100/5300 of appsettings.json: another cluster may run on this machine.
            ["Kestrel:Endpoints:Public:Url"] = $"http://127.0.0.1:{_publicPort}",
            ["Kestrel:Endpoints:Internal:Url"] = "http://127.0.0.1:0",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        if (logs is not null)
            builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        builder.AddServiceDefaults();
        builder.AddLogStreamNode();
        return builder;
    }

    [Fact]
    public async Task OutsideAPodTheZoneComesFromConfiguration()
    {
        await using var app = NodeBuilder(new Dictionary<string, string?> { ["LogStream:Zone"] = "rack-7" }).Build();
        var resolver = app.Services.GetRequiredService<IZoneResolver>();
        Assert.IsType<ConfiguredZoneResolver>(resolver);
        Assert.Equal("rack-7", await resolver.ResolveZoneAsync(CancellationToken.None));
    }

    [Fact]
    public async Task InAPodTheNodeUsesTheKubernetesZoneResolver()
    {
        await using var app = NodeBuilder(new Dictionary<string, string?>
        {
            ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1",
            ["KUBERNETES_SERVICE_PORT"] = "443",
        }).Build();
        Assert.IsType<KubernetesZoneResolver>(app.Services.GetRequiredService<IZoneResolver>());
    }

    [Fact]
    public async Task InAPodWithZoneLookupOffTheZoneComesFromConfiguration()
    {
        await using var app = NodeBuilder(new Dictionary<string, string?>
        {
            ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1",
            ["KUBERNETES_SERVICE_PORT"] = "443",
            ["LogStream:Kubernetes:ZoneLookup"] = "false",
        }).Build();
        Assert.IsType<ConfiguredZoneResolver>(app.Services.GetRequiredService<IZoneResolver>());
    }

    [Theory]
    [InlineData("LogStream:Kubernetes:Timeout", "00:00:00", "LogStream:Kubernetes:Timeout must be positive")]
    [InlineData("LogStream:Kubernetes:ServiceAccountPath", "relative/path", "LogStream:Kubernetes:ServiceAccountPath must be an absolute path")]
    [InlineData("LogStream:Kubernetes:PodName", "Not_A_Name", "LogStream:Kubernetes:PodName must be a Kubernetes object name")]
    public async Task InvalidKubernetesOptionsStopTheNodeNamingTheKey(string key, string value, string expected)
    {
        await using var app = NodeBuilder(new Dictionary<string, string?> { [key] = value }).Build();
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync().WaitAsync(Deadline));
        Assert.Contains(expected, failure.Message);
    }

    [Fact]
    public async Task NodeDeniedTheZoneLookupByRbacStartsWithNoZoneAndSaysSo()
    {
        using var certificates = TestCertificates.Create();
        var token = $"stub-token-{Guid.NewGuid():N}";
        using var serviceAccount = new ServiceAccountFolder(token, certificates.CaPem);
        await using var api = await KubernetesApiStub.StartAsync(certificates, token);
        api.Serve("/api/v1/namespaces/logstream/pods/logstream-1", "pod-logstream-1.json")
            .Serve("/api/v1/nodes/kind-worker2", "status-forbidden-node.json", status: 403);

        var logs = new FakeLogCollector();
        await using var app = NodeBuilder(new Dictionary<string, string?>
        {
            ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
            ["KUBERNETES_SERVICE_PORT"] = api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["POD_NAME"] = "logstream-1",
            ["POD_NAMESPACE"] = "logstream",
            ["LogStream:Kubernetes:ServiceAccountPath"] = serviceAccount.Path,
        }, logs).Build();
        app.MapDefaultEndpoints();
        await app.StartAsync().WaitAsync(Deadline);
        try
        {
            var refused = await WaitForLogAsync(logs, r => r.Category == typeof(KubernetesZoneResolver).FullName && r.Id.Id == 3,
                "the zone resolver's RBAC warning");
            Assert.Equal(LogLevel.Warning, refused.Level);
            Assert.Contains("HTTP 403 Forbidden", refused.Message);
            Assert.Contains("The node starts with no zone", refused.Message);

            // And the node runs: liveness answers 200; readiness 503 only because there is no Redis here to join.
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_publicPort}"), Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/alive")).StatusCode);
            using var ready = await http.GetAsync("/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("not registered yet", await ready.Content.ReadAsStringAsync());
        }
        finally
        {
            await app.StopAsync().WaitAsync(Deadline);
        }
    }

    private static async Task<FakeLogRecord> WaitForLogAsync(FakeLogCollector logs, Func<FakeLogRecord, bool> match, string what)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (true)
        {
            var found = logs.GetSnapshot().FirstOrDefault(match);
            if (found is not null)
                return found;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"No log record for {what} within {Deadline}. Logged:\n" +
                    string.Join('\n', logs.GetSnapshot().Select(r => $"{r.Level} {r.Category}: {r.Message}")));
            }
        }
    }
}
