using System.Diagnostics;
using System.Net;
using System.Text.Json;
using LogStream.Testing;
using Xunit.Abstractions;

namespace LogStream.Integration.Tests.Node;

/// <summary>Real node processes against a real redis-server: start-up, failure detection, Redis outages.</summary>
[Collection(RedisCollection.Name)]
public sealed class NodeLifecycleTests(RedisFixture redis, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan DownAfter = TimeSpan.FromSeconds(5);
    private readonly TempDirectory _data = new("logstream-node");
    private readonly List<NodeProcess> _nodes = [];
    private readonly string _cluster = "it-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<NodeProcess> StartNodeAsync(string nodeId, string redisConnection, int port = 0)
    {
        var node = await NodeProcess.StartAsync(new NodeSpec(nodeId, _data.Sub(nodeId), redisConnection)
        {
            Port = port,
            Settings = new Dictionary<string, string> { ["LogStream:ClusterName"] = _cluster },
        });
        _nodes.Add(node);
        return node;
    }

    private static async Task<string?> MemberStateAsync(NodeProcess observer, string memberId)
    {
        var cluster = await observer.GetJsonAsync("/api/cluster");
        foreach (var member in cluster.GetProperty("members").EnumerateArray())
        {
            if (member.GetProperty("id").GetString() == memberId)
                return member.GetProperty("state").GetString();
        }
        return null;
    }

    private static async Task<string> HealthStatusAsync(NodeProcess node)
    {
        using var response = await node.Http.GetAsync("/health");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return $"{(int)response.StatusCode} {body.GetProperty("status").GetString()}";
    }

    [SkippableFact]
    public async Task ANodeStartedWithoutRedisStaysAliveIsNotReadyAndJoinsWhenRedisAppears()
    {
        RequiredTool.Require("redis-server", "apt-get install redis-server");
        var redisPort = Ports.FreeTcpPort();
        var node = await StartNodeAsync("node-0", $"127.0.0.1:{redisPort}");

        using (var alive = await node.Http.GetAsync("/alive"))
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        // Never registered: no ring and unknown to its peers, so not ready (a Kubernetes Service sends it nothing).
        await Wait.UntilAsync(async () => await HealthStatusAsync(node) == "503 Unhealthy", TimeSpan.FromSeconds(15),
            "/health to say Unhealthy (HTTP 503) while Redis has never answered");
        var cluster = await node.GetJsonAsync("/api/cluster");
        Assert.True(cluster.GetProperty("degraded").GetBoolean());

        await using var late = await RedisServerProcess.StartAsync(redisPort);
        var clock = Stopwatch.StartNew();

        await Wait.UntilAsync(async () => await HealthStatusAsync(node) == "200 Healthy", TimeSpan.FromSeconds(20),
            "/health to turn Healthy once Redis appeared");
        await Wait.UntilAsync(async () => await MemberStateAsync(node, "node-0") == "up", TimeSpan.FromSeconds(5),
            "the node to list itself up");
        output.WriteLine($"recovered {clock.ElapsedMilliseconds} ms after Redis appeared");
    }

    [SkippableFact]
    public async Task AKilledNodeIsMarkedDownWithinTheSuspicionTimeoutAndUpAgainWhenRestarted()
    {
        var server = redis.Require();
        var observer = await StartNodeAsync("node-0", server.ConnectionString);
        var victim = await StartNodeAsync("node-1", server.ConnectionString);
        await Wait.UntilAsync(async () => await MemberStateAsync(observer, "node-1") == "up", TimeSpan.FromSeconds(10),
            "node-0 to see node-1 up");

        victim.Kill(); // SIGKILL: no goodbye, only the heartbeat ages
        var clock = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => await MemberStateAsync(observer, "node-1") == "down", DownAfter + TimeSpan.FromSeconds(2),
            "node-0 to mark the killed node-1 down within the suspicion timeout + 2 s");
        output.WriteLine($"killed node seen down after {clock.ElapsedMilliseconds} ms (suspicion timeout {DownAfter.TotalMilliseconds} ms)");

        var restarted = await victim.RestartAsync();
        _nodes.Add(restarted);
        await Wait.UntilAsync(async () => await MemberStateAsync(observer, "node-1") == "up", TimeSpan.FromSeconds(10),
            "node-0 to see the restarted node-1 up again");
    }

    [SkippableFact]
    public async Task AGracefullyStoppedNodeIsMarkedDownAtOnceButKeepsItsPlaceInTheRing()
    {
        var server = redis.Require();
        var observer = await StartNodeAsync("node-0", server.ConnectionString);
        var leaver = await StartNodeAsync("node-1", server.ConnectionString);
        await Wait.UntilAsync(async () => await MemberStateAsync(observer, "node-1") == "up", TimeSpan.FromSeconds(10),
            "node-0 to see node-1 up");

        await leaver.StopAsync(); // SIGTERM: announces itself stopped
        var clock = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => await MemberStateAsync(observer, "node-1") == "down", TimeSpan.FromSeconds(2),
            "node-0 to see the gracefully stopped node-1 down at once");
        output.WriteLine($"stopped node seen down after {clock.ElapsedMilliseconds} ms");

        var ring = (await observer.GetJsonAsync("/api/cluster")).GetProperty("ring").GetProperty("tokens");
        Assert.True(ring.TryGetProperty("node-1", out var tokens), "a stopped node must keep its ring tokens");
        Assert.Equal(new LogStream.Node.Ring.RingOptions().VirtualNodes, tokens.GetArrayLength());
    }

    [SkippableFact]
    public async Task WhenRedisGoesAwayNodesKeepServingTheirLastViewAndRejoinWhenItReturns()
    {
        RequiredTool.Require("redis-server", "apt-get install redis-server");
        var port = Ports.FreeTcpPort();
        var own = await RedisServerProcess.StartAsync(port);
        var a = await StartNodeAsync("node-0", own.ConnectionString);
        var b = await StartNodeAsync("node-1", own.ConnectionString);
        await Wait.UntilAsync(async () => await MemberStateAsync(a, "node-1") == "up" && await MemberStateAsync(b, "node-0") == "up",
            TimeSpan.FromSeconds(10), "both nodes to see each other up");

        await own.DisposeAsync(); // Redis dies, and with it every row (no persistence)
        await Wait.UntilAsync(async () => await HealthStatusAsync(a) == "200 Degraded", TimeSpan.FromSeconds(10),
            "node-0 to report Degraded");
        // The last view is kept: no spurious "down" because heartbeats can no longer be read.
        Assert.Equal("up", await MemberStateAsync(a, "node-1"));

        await using var back = await RedisServerProcess.StartAsync(port);
        await Wait.UntilAsync(async () => await HealthStatusAsync(a) == "200 Healthy" && await HealthStatusAsync(b) == "200 Healthy",
            TimeSpan.FromSeconds(20), "both nodes to be Healthy after Redis returned");
        await Wait.UntilAsync(async () => await MemberStateAsync(a, "node-1") == "up" && await MemberStateAsync(b, "node-0") == "up",
            TimeSpan.FromSeconds(10), "both nodes to re-register in the empty Redis and see each other up");
    }

    [SkippableFact]
    public async Task WithApiKeysConfiguredThePublicApiNeedsOneAndProbesStayOpen()
    {
        var server = redis.Require();
        var node = await NodeProcess.StartAsync(new NodeSpec("node-0", _data.Sub("keys"), server.ConnectionString)
        {
            Settings = new Dictionary<string, string>
            {
                ["LogStream:ClusterName"] = _cluster,
                ["LogStream:Security:ApiKeys:0"] = "first-api-key-0123456789",
                ["LogStream:Security:ApiKeys:1"] = "second-api-key-0123456789",
            },
        });
        _nodes.Add(node);

        using (var refused = await node.Http.GetAsync("/api/cluster"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/logs"))
        {
            wrong.Headers.Add("X-Api-Key", "not-a-configured-key-000");
            Assert.Equal(HttpStatusCode.Unauthorized, (await node.Http.SendAsync(wrong)).StatusCode);
        }
        using (var withHeader = new HttpRequestMessage(HttpMethod.Get, "/api/cluster"))
        {
            withHeader.Headers.Add("X-Api-Key", "second-api-key-0123456789");
            Assert.Equal(HttpStatusCode.OK, (await node.Http.SendAsync(withHeader)).StatusCode);
        }
        using (var withBearer = new HttpRequestMessage(HttpMethod.Get, "/api/node"))
        {
            withBearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "first-api-key-0123456789");
            Assert.Equal(HttpStatusCode.OK, (await node.Http.SendAsync(withBearer)).StatusCode);
        }
        foreach (var open in new[] { "/alive", "/metrics" })
            Assert.Equal(HttpStatusCode.OK, (await node.Http.GetAsync(open)).StatusCode);
        // Readiness is open too; it answers 503 for the moment before the first heartbeat registers the node.
        await Wait.UntilAsync(async () => (await node.Http.GetAsync("/health")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(10),
            "/health to answer 200 without an API key once the node registered");
    }

    [Fact]
    public async Task ANodeWithoutANodeIdStopsAtStartNamingTheKey()
    {
        await using var process = new ChildProcess("dotnet",
            [Repository.NodeDll, $"--LogStream:DataDirectory={_data.Path}", "--ConnectionStrings:redis=127.0.0.1:1", "--Kestrel:Endpoints:Public:Url=http://127.0.0.1:0"]);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains("LogStream:NodeId is required", process.RecentOutput());
    }

    [Fact]
    public async Task ANodeWithoutARedisConnectionStringStopsAtStartNamingTheKey()
    {
        await using var process = new ChildProcess("dotnet",
            [Repository.NodeDll, "--LogStream:NodeId=node-0", $"--LogStream:DataDirectory={_data.Path}", "--Kestrel:Endpoints:Public:Url=http://127.0.0.1:0"]);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains("ConnectionStrings:redis is required", process.RecentOutput());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (!node.Process.HasExited)
                output.WriteLine($"--- {node.NodeId} ---{Environment.NewLine}{node.Process.RecentOutput(30)}");
            await node.DisposeAsync();
        }
        _data.Dispose();
    }
}
