using LogStream.Testing;
using Microsoft.Extensions.Configuration;
using LogStream.Node.Membership;
using LogStream.Node.Ring;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Node.Tests.Membership;

public sealed class MembershipAgentTests : IDisposable
{
    private const string Cluster = "unit";
    private readonly InMemoryMembershipServer _server = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly MembershipOptions _timing = new();
    private readonly List<MembershipAgent> _agents = [];
    private readonly TempDirectory _data = new("logstream-membership");

    /// <summary>A node's membership agent; a node's data directory is kept across restarts (a new agent with the same id).</summary>
    private (MembershipAgent Agent, MembershipView View) NewAgent(string nodeId, string? zone = null)
    {
        var view = new MembershipView();
        var nodeOptions = Options.Create(new NodeOptions
        {
            NodeId = nodeId,
            ClusterName = Cluster,
            Zone = zone,
            DataDirectory = _data.Sub(nodeId),
            AdvertiseAddress = $"http://{nodeId}:5100",
            AdvertiseInternalAddress = $"http://{nodeId}:5300",
        });
        var agent = new MembershipAgent(
            _server.Store(Cluster),
            view,
            new ConfiguredZoneResolver(nodeOptions),
            nodeOptions,
            Options.Create(_timing),
            new NoServer(),
            new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(),
            new StartedLifetime(),
            _time,
            new MembershipMetrics(new TestMeterFactory(), view),
            NullLogger<MembershipAgent>.Instance);
        _agents.Add(agent);
        return (agent, view);
    }

    [Fact]
    public async Task FirstTickRegistersTheNodeUpWithIncarnationOne()
    {
        var (agent, view) = NewAgent("node-0", zone: "zone-a");

        await agent.TickAsync(CancellationToken.None);

        var self = view.Snapshot.Find("node-0");
        Assert.NotNull(self);
        Assert.Equal(MemberState.Up, self.State);
        Assert.Equal(1, self.Incarnation);
        Assert.Equal("zone-a", self.Zone);
        Assert.Equal("http://node-0:5100", self.Address);
        Assert.False(view.Current.Degraded);
    }

    [Fact]
    public async Task TheNodeIsNotReadyUntilItHasRegisteredOnce()
    {
        var (agent, view) = NewAgent("node-0");
        var health = new MembershipHealthCheck(view);
        _server.Unreachable = true;

        var before = await health.CheckHealthAsync(new HealthCheckContext());
        await agent.TickAsync(CancellationToken.None);
        var unreachable = await health.CheckHealthAsync(new HealthCheckContext());
        _server.Unreachable = false;
        await agent.TickAsync(CancellationToken.None);
        var registered = await health.CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Equal(HealthStatus.Unhealthy, unreachable.Status);
        Assert.Contains("not registered yet", unreachable.Description);
        Assert.Equal(HealthStatus.Healthy, registered.Status);
        Assert.NotNull(view.Snapshot.Find("node-0"));
    }

    [Fact]
    public async Task EveryTickWritesAHeartbeatWithTheCurrentTime()
    {
        var (agent, _) = NewAgent("node-0");
        await agent.TickAsync(CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(1));
        await agent.TickAsync(CancellationToken.None);

        var row = await _server.Store(Cluster).ReadAsync("node-0", CancellationToken.None);
        Assert.Equal(_time.GetUtcNow(), row!.HeartbeatAt);
        Assert.Equal(2, row.Version);
    }

    [Fact]
    public async Task ARestartedNodeRegistersWithAHigherIncarnation()
    {
        var (first, _) = NewAgent("node-0");
        await first.TickAsync(CancellationToken.None);
        await first.StoppingAsync(CancellationToken.None);

        var (second, view) = NewAgent("node-0");
        await second.TickAsync(CancellationToken.None);

        Assert.Equal(2, view.Snapshot.Find("node-0")!.Incarnation);
        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-0")!.State);
    }

    [Fact]
    public async Task PeersBecomeSuspectThenDownAsTheirHeartbeatAges()
    {
        var (a, view) = NewAgent("node-0");
        var (b, _) = NewAgent("node-1");
        await a.TickAsync(CancellationToken.None);
        await b.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);
        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-1")!.State);

        // node-1 stops heartbeating (crashed); node-0 keeps ticking.
        _time.Advance(_timing.SuspectAfter);
        await a.TickAsync(CancellationToken.None);
        Assert.Equal(MemberState.Suspect, view.Snapshot.Find("node-1")!.State);

        _time.Advance(_timing.DownAfter - _timing.SuspectAfter);
        await a.TickAsync(CancellationToken.None);
        Assert.Equal(MemberState.Down, view.Snapshot.Find("node-1")!.State);
        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-0")!.State);

        await b.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);
        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-1")!.State);
    }

    [Fact]
    public async Task AGracefulStopIsSeenAsDownAtOnceThroughTheAnnouncement()
    {
        var (a, view) = NewAgent("node-0");
        var (b, _) = NewAgent("node-1");
        await a.TickAsync(CancellationToken.None);
        await b.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);

        await b.StoppingAsync(CancellationToken.None);

        // No tick of node-0 and no time passing: the announcement alone refreshes its view.
        await LogStream.Testing.Wait.UntilAsync(() => view.Snapshot.Find("node-1")?.State == MemberState.Down,
            TimeSpan.FromSeconds(5), "node-0 to see node-1 down after its announced leave");
    }

    [Fact]
    public async Task AJoinAnnouncementAddsTheNewMemberWithoutWaitingForATick()
    {
        var (a, view) = NewAgent("node-0");
        await a.TickAsync(CancellationToken.None);
        var (b, _) = NewAgent("node-1");

        await b.TickAsync(CancellationToken.None);

        await LogStream.Testing.Wait.UntilAsync(() => view.Snapshot.Find("node-1")?.State == MemberState.Up,
            TimeSpan.FromSeconds(5), "node-0 to see node-1 join");
    }

    [Fact]
    public async Task WhenTheStoreIsUnreachableTheNodeKeepsItsLastViewAndIsDegradedUntilItReturns()
    {
        var (a, view) = NewAgent("node-0");
        var (b, _) = NewAgent("node-1");
        await a.TickAsync(CancellationToken.None);
        await b.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);
        var before = view.Snapshot;
        var health = new MembershipHealthCheck(view);

        _server.Unreachable = true;
        _time.Advance(_timing.DownAfter * 3);
        await a.TickAsync(CancellationToken.None);

        Assert.True(view.Current.Degraded);
        Assert.Same(before, view.Snapshot);
        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-1")!.State);
        var degraded = await health.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains("unreachable", degraded.Description);

        _server.Unreachable = false;
        await b.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);

        Assert.False(view.Current.Degraded);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);
        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-1")!.State);
    }

    [Fact]
    public async Task ANodeWhoseRowWasOverwrittenRegistersAgainWithAHigherIncarnation()
    {
        var (agent, view) = NewAgent("node-0");
        await agent.TickAsync(CancellationToken.None);
        var store = _server.Store(Cluster);
        var row = await store.ReadAsync("node-0", CancellationToken.None);
        await store.TryWriteAsync(row! with { Address = "http://impostor:1" }, row.Version, CancellationToken.None);

        await agent.TickAsync(CancellationToken.None);

        var self = view.Snapshot.Find("node-0")!;
        Assert.Equal("http://node-0:5100", self.Address);
        Assert.Equal(2, self.Incarnation);
    }

    [Fact]
    public async Task AHeartbeatThatLandedAfterTimingOutIsAdoptedWithoutReRegistering()
    {
        var (agent, view) = NewAgent("node-0");
        await agent.TickAsync(CancellationToken.None);
        var store = _server.Store(Cluster);
        var row = await store.ReadAsync("node-0", CancellationToken.None);
        // Our own previous heartbeat, which timed out on our side but was applied by Redis.
        await store.TryWriteAsync(row! with { HeartbeatAt = row.HeartbeatAt.AddSeconds(1) }, row.Version, CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(2));
        await agent.TickAsync(CancellationToken.None);

        var self = view.Snapshot.Find("node-0")!;
        Assert.Equal(1, self.Incarnation);
        Assert.Equal(_time.GetUtcNow(), self.LastHeartbeat);
    }

    [Fact]
    public async Task DownMembersKeepTheirTokensAndOnlyMembershipChangesRebuildTheRing()
    {
        var (a, view) = NewAgent("node-0");
        var (b, _) = NewAgent("node-1");
        var ringView = new RingView(view, Options.Create(new RingOptions()));
        await a.TickAsync(CancellationToken.None);
        await b.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);
        var ring = ringView.Current;
        Assert.Equal(["node-0", "node-1"], ring.Members.Select(m => m.Id));

        await b.StoppingAsync(CancellationToken.None);
        _time.Advance(_timing.DownAfter);
        await a.TickAsync(CancellationToken.None);

        Assert.Equal(MemberState.Down, view.Snapshot.Find("node-1")!.State);
        Assert.Same(ring, ringView.Current);

        var (c, _) = NewAgent("node-2");
        await c.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);
        Assert.Equal(["node-0", "node-1", "node-2"], ringView.Current.Members.Select(m => m.Id));
    }

    /// <summary>node-0, node-1 and node-2 registered and seen by node-0.</summary>
    private async Task<(MembershipAgent Agent, MembershipView View)> ThreeMembersAsync()
    {
        var (a, view) = NewAgent("node-0", zone: "zone-a");
        var (b, _) = NewAgent("node-1", zone: "zone-b");
        var (c, _) = NewAgent("node-2", zone: "zone-c");
        await a.TickAsync(CancellationToken.None);
        await b.TickAsync(CancellationToken.None);
        await c.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);
        Assert.Equal(["node-0", "node-1", "node-2"], view.Snapshot.Members.Select(m => m.Id));
        return (a, view);
    }

    [Fact]
    public async Task MembersTheStoreForgetsStayInTheViewAsDownAndKeepTheirPlaceInTheRing()
    {
        var (a, view) = await ThreeMembersAsync();
        var ringView = new RingView(view, Options.Create(new RingOptions()));

        _server.FlushAll(); // Redis lost its data
        _time.Advance(_timing.HeartbeatInterval);
        await a.TickAsync(CancellationToken.None);

        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-0")!.State);
        var forgotten = view.Snapshot.Find("node-1");
        Assert.NotNull(forgotten);
        Assert.Equal(MemberState.Down, forgotten.State);
        Assert.Equal("http://node-1:5300", forgotten.InternalAddress);
        Assert.Equal("zone-b", forgotten.Zone);
        Assert.Equal(MemberState.Down, view.Snapshot.Find("node-2")?.State);
        Assert.Equal(["node-0", "node-1", "node-2"], ringView.Current.Members.Select(m => m.Id));
    }

    [Fact]
    public async Task AForgottenMemberIsUpAgainOnceItRegistersAgain()
    {
        var (a, view) = await ThreeMembersAsync();
        _server.FlushAll();
        await a.TickAsync(CancellationToken.None);
        Assert.Equal(MemberState.Down, view.Snapshot.Find("node-1")?.State);

        var (b, _) = NewAgent("node-1", zone: "zone-b");
        await b.TickAsync(CancellationToken.None);
        await a.TickAsync(CancellationToken.None);

        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-1")!.State);
        Assert.Equal(MemberState.Down, view.Snapshot.Find("node-2")!.State);
    }

    [Fact]
    public async Task MembersSeenBeforeARestartStayInTheViewAsDownWhenTheStoreIsEmptyAtStart()
    {
        var (first, _) = await ThreeMembersAsync();
        await first.StoppingAsync(CancellationToken.None);
        _server.FlushAll();

        var (restarted, view) = NewAgent("node-0", zone: "zone-a");
        var ringView = new RingView(view, Options.Create(new RingOptions()));
        await restarted.StartingAsync(CancellationToken.None);
        await restarted.TickAsync(CancellationToken.None);

        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-0")!.State);
        Assert.Equal(MemberState.Down, view.Snapshot.Find("node-1")?.State);
        Assert.Equal(MemberState.Down, view.Snapshot.Find("node-2")?.State);
        Assert.Equal("http://node-2:5300", view.Snapshot.Find("node-2")?.InternalAddress);
        Assert.Equal(["node-0", "node-1", "node-2"], ringView.Current.Members.Select(m => m.Id));
        Assert.Equal(["members.json"], Directory.GetFiles(Path.Combine(_data.Sub("node-0"), "ring")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task ARememberedMembersFileOfFormatOneIsRead()
    {
        // Written by the first version that remembered members: keep reading it.
        const string formatOne = """
            {
              "format": 1,
              "cluster": "unit",
              "members": [
                {"id": "node-0", "address": "http://node-0:5100", "internal_address": "http://node-0:5300", "zone": "zone-a",
                 "incarnation": 3, "last_heartbeat": "2026-11-26T11:58:00+00:00"},
                {"id": "node-7", "address": "http://10.0.0.7:5100", "internal_address": "http://10.0.0.7:5300", "zone": "zone-b",
                 "incarnation": 9, "last_heartbeat": "2026-11-26T11:59:30+00:00"},
                {"id": "node-8", "address": "http://10.0.0.8:5100", "internal_address": null, "zone": null,
                 "incarnation": 1, "last_heartbeat": "2026-11-26T11:00:00+00:00"}
              ]
            }
            """;
        var ring = Directory.CreateDirectory(Path.Combine(_data.Sub("node-0"), "ring")).FullName;
        await File.WriteAllTextAsync(Path.Combine(ring, "members.json"), formatOne);

        var (agent, view) = NewAgent("node-0", zone: "zone-a");
        await agent.StartingAsync(CancellationToken.None);
        await agent.TickAsync(CancellationToken.None);

        Assert.Equal(["node-0", "node-7", "node-8"], view.Snapshot.Members.Select(m => m.Id));
        Assert.Equal(MemberState.Up, view.Snapshot.Find("node-0")!.State);
        var seven = view.Snapshot.Find("node-7")!;
        Assert.Equal(MemberState.Down, seven.State);
        Assert.Equal(("http://10.0.0.7:5100", "http://10.0.0.7:5300", "zone-b", 9L), (seven.Address, seven.InternalAddress, seven.Zone, seven.Incarnation));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 11, 59, 30, TimeSpan.Zero), seven.LastHeartbeat);
        var eight = view.Snapshot.Find("node-8")!;
        Assert.Equal((MemberState.Down, (string?)null, (string?)null), (eight.State, eight.InternalAddress, eight.Zone));
    }

    [Fact]
    public async Task AnUnreadableRememberedMembersFileStopsTheStartNamingTheFile()
    {
        var ring = Directory.CreateDirectory(Path.Combine(_data.Sub("node-0"), "ring")).FullName;
        var file = Path.Combine(ring, "members.json");
        await File.WriteAllTextAsync(file, "{\"format\": 1, \"members\": [{\"id\": ");
        var (agent, _) = NewAgent("node-0");

        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => agent.StartingAsync(CancellationToken.None));

        Assert.Contains(file, failure.Message);
    }

    [Theory]
    [InlineData("http://0.0.0.0:5100", "5100")]
    [InlineData("http://[::]:5101", "5101")]
    [InlineData("http://+:5102", "5102")]
    public void AWildcardListeningAddressIsAdvertisedWithTheMachineName(string listening, string port)
    {
        Assert.Equal($"http://{System.Net.Dns.GetHostName().ToLowerInvariant()}:{port}", NodeAddresses.Advertisable(listening).ToLowerInvariant());
    }

    [Fact]
    public void AConcreteListeningAddressIsAdvertisedAsIs()
    {
        Assert.Equal("http://127.0.0.1:5100", NodeAddresses.Advertisable("http://127.0.0.1:5100"));
        Assert.Equal("http://localhost:5100", NodeAddresses.Advertisable("http://localhost:5100/"));
    }

    [Fact]
    public void BothAddressesAreReadFromTheListeningEndpointsMatchedByPort()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [NodeAddresses.PublicEndpointKey] = "http://127.0.0.1:0",
            [NodeAddresses.InternalEndpointKey] = "http://127.0.0.1:5301",
        }).Build();

        var (publicAddress, internalAddress) = NodeAddresses.Resolve(new NodeOptions(), configuration, ["http://127.0.0.1:5301", "http://127.0.0.1:41234"]);

        Assert.Equal("http://127.0.0.1:41234", publicAddress);
        Assert.Equal("http://127.0.0.1:5301", internalAddress);
    }

    [Fact]
    public void TheInternalAddressTakesTheAdvertisedPublicHost()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [NodeAddresses.PublicEndpointKey] = "http://0.0.0.0:5100",
            [NodeAddresses.InternalEndpointKey] = "http://0.0.0.0:5300",
        }).Build();
        var options = new NodeOptions { AdvertiseAddress = "http://logstream-1.logstream-headless:5100" };

        var (publicAddress, internalAddress) = NodeAddresses.Resolve(options, configuration, ["http://0.0.0.0:5100", "http://0.0.0.0:5300"]);

        Assert.Equal("http://logstream-1.logstream-headless:5100", publicAddress);
        Assert.Equal("http://logstream-1.logstream-headless:5300", internalAddress);
    }

    public void Dispose()
    {
        foreach (var agent in _agents)
            agent.Dispose();
        _data.Dispose();
    }

    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }

    private sealed class StartedLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => new(canceled: true);

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
