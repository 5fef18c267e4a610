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

    private (MembershipAgent Agent, MembershipView View) NewAgent(string nodeId, string? zone = null)
    {
        var view = new MembershipView();
        var nodeOptions = Options.Create(new NodeOptions
        {
            NodeId = nodeId,
            Zone = zone,
            DataDirectory = "/unused",
            AdvertiseAddress = $"http://{nodeId}:5100",
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
