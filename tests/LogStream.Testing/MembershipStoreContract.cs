using LogStream.Node.Membership;
using Xunit;

namespace LogStream.Testing;

/// <summary>
/// What every <see cref="IMembershipStore"/> must do. Each implementation (in-memory, Redis, Garnet) runs this
/// same suite by deriving from it; every test uses its own cluster name, so one server serves all of them.
/// </summary>
public abstract class MembershipStoreContract
{
    private static readonly MembershipOptions Timing = new();
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A store for the cluster <paramref name="clusterName"/>; two calls with one name share the table.</summary>
    protected abstract Task<IMembershipStore> CreateStoreAsync(string clusterName);

    protected static string NewClusterName() => "test-" + Guid.NewGuid().ToString("N")[..12];

    private static MemberRow Row(string id, long incarnation = 1, DateTimeOffset? heartbeat = null, MemberStatus status = MemberStatus.Alive) => new()
    {
        Id = id,
        Address = $"http://{id}:5100",
        Zone = "zone-a",
        Incarnation = incarnation,
        Status = status,
        HeartbeatAt = heartbeat ?? T0,
    };

    [SkippableFact]
    public async Task RegisteredRowIsReadBackWithVersionOne()
    {
        var store = await CreateStoreAsync(NewClusterName());

        Assert.True(await store.TryWriteAsync(Row("node-0"), expectedVersion: 0, CancellationToken.None));

        var row = await store.ReadAsync("node-0", CancellationToken.None);
        Assert.NotNull(row);
        Assert.Equal(1, row.Version);
        Assert.Equal("http://node-0:5100", row.Address);
        Assert.Equal("zone-a", row.Zone);
        Assert.Equal(T0, row.HeartbeatAt);
        Assert.Equal(MemberStatus.Alive, row.Status);
        Assert.Equal([row], await store.ReadAllAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task HeartbeatWithTheCurrentVersionIsAcceptedAndBumpsTheVersion()
    {
        var store = await CreateStoreAsync(NewClusterName());
        await store.TryWriteAsync(Row("node-0"), 0, CancellationToken.None);

        Assert.True(await store.TryWriteAsync(Row("node-0", heartbeat: T0.AddSeconds(1)), expectedVersion: 1, CancellationToken.None));

        var row = await store.ReadAsync("node-0", CancellationToken.None);
        Assert.Equal(2, row!.Version);
        Assert.Equal(T0.AddSeconds(1), row.HeartbeatAt);
    }

    [SkippableFact]
    public async Task WriteWithAStaleVersionIsRefusedAndChangesNothing()
    {
        var store = await CreateStoreAsync(NewClusterName());
        await store.TryWriteAsync(Row("node-0"), 0, CancellationToken.None);
        await store.TryWriteAsync(Row("node-0", heartbeat: T0.AddSeconds(1)), 1, CancellationToken.None);

        Assert.False(await store.TryWriteAsync(Row("node-0", heartbeat: T0.AddSeconds(9)), expectedVersion: 1, CancellationToken.None));
        Assert.False(await store.TryWriteAsync(Row("node-0", heartbeat: T0.AddSeconds(9)), expectedVersion: 0, CancellationToken.None));

        var row = await store.ReadAsync("node-0", CancellationToken.None);
        Assert.Equal(2, row!.Version);
        Assert.Equal(T0.AddSeconds(1), row.HeartbeatAt);
    }

    [SkippableFact]
    public async Task MemberWhoseHeartbeatAgesPastTheSuspicionTimeoutIsDown()
    {
        var store = await CreateStoreAsync(NewClusterName());
        await store.TryWriteAsync(Row("node-0", heartbeat: T0), 0, CancellationToken.None);
        var rows = await store.ReadAllAsync(CancellationToken.None);

        Assert.Equal(MemberState.Up, StateAt(rows, T0 + Timing.HeartbeatInterval));
        Assert.Equal(MemberState.Suspect, StateAt(rows, T0 + Timing.SuspectAfter));
        Assert.Equal(MemberState.Down, StateAt(rows, T0 + Timing.DownAfter));
    }

    [SkippableFact]
    public async Task StoppedMemberIsDownAtOnceAndUpAgainWhenItRejoinsWithAHigherIncarnation()
    {
        var store = await CreateStoreAsync(NewClusterName());
        await store.TryWriteAsync(Row("node-0", incarnation: 1), 0, CancellationToken.None);
        await store.TryWriteAsync(Row("node-0", incarnation: 1, status: MemberStatus.Stopped), 1, CancellationToken.None);
        Assert.Equal(MemberState.Down, StateAt(await store.ReadAllAsync(CancellationToken.None), T0));

        var stopped = await store.ReadAsync("node-0", CancellationToken.None);
        Assert.True(await store.TryWriteAsync(Row("node-0", incarnation: stopped!.Incarnation + 1, heartbeat: T0.AddMinutes(1)), stopped.Version, CancellationToken.None));

        var rejoined = await store.ReadAllAsync(CancellationToken.None);
        Assert.Equal(MemberState.Up, StateAt(rejoined, T0.AddMinutes(1)));
        Assert.Equal(2, rejoined.Single().Incarnation);
    }

    [SkippableFact]
    public async Task ConcurrentWritersOfDifferentRowsDoNotLoseEachOthersRows()
    {
        var cluster = NewClusterName();
        const int members = 16;
        const int heartbeats = 25;
        var stores = new IMembershipStore[members];
        for (var i = 0; i < members; i++)
            stores[i] = await CreateStoreAsync(cluster);

        await Task.WhenAll(Enumerable.Range(0, members).Select(i => Task.Run(async () =>
        {
            var id = $"node-{i}";
            Assert.True(await stores[i].TryWriteAsync(Row(id), 0, CancellationToken.None));
            for (var beat = 1; beat <= heartbeats; beat++)
                Assert.True(await stores[i].TryWriteAsync(Row(id, heartbeat: T0.AddSeconds(beat)), beat, CancellationToken.None));
        })));

        var rows = await stores[0].ReadAllAsync(CancellationToken.None);
        Assert.Equal(members, rows.Count);
        Assert.All(rows, r => Assert.Equal(heartbeats + 1, r.Version));
        Assert.All(rows, r => Assert.Equal(T0.AddSeconds(heartbeats), r.HeartbeatAt));
    }

    [SkippableFact]
    public async Task OfConcurrentWritersOfOneRowWithTheSameVersionExactlyOneWins()
    {
        var cluster = NewClusterName();
        var seed = await CreateStoreAsync(cluster);
        await seed.TryWriteAsync(Row("node-0"), 0, CancellationToken.None);
        var writers = new IMembershipStore[8];
        for (var i = 0; i < writers.Length; i++)
            writers[i] = await CreateStoreAsync(cluster);

        // Released together, without blocking a pool thread each (an embedded server shares the test's thread pool).
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = writers.Select((store, i) => Task.Run(async () =>
        {
            await start.Task;
            return await store.TryWriteAsync(Row("node-0", incarnation: 10 + i), expectedVersion: 1, CancellationToken.None);
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(attempts);

        Assert.Equal(1, results.Count(won => won));
        var row = await seed.ReadAsync("node-0", CancellationToken.None);
        Assert.Equal(2, row!.Version);
        Assert.Equal(10 + Array.IndexOf(results, true), row.Incarnation);
    }

    [SkippableFact]
    public async Task RemovalNeedsTheCurrentVersion()
    {
        var store = await CreateStoreAsync(NewClusterName());
        await store.TryWriteAsync(Row("node-0"), 0, CancellationToken.None);
        await store.TryWriteAsync(Row("node-1"), 0, CancellationToken.None);
        await store.TryWriteAsync(Row("node-0", heartbeat: T0.AddSeconds(1)), 1, CancellationToken.None);

        Assert.False(await store.TryRemoveAsync("node-0", expectedVersion: 1, CancellationToken.None));
        Assert.True(await store.TryRemoveAsync("node-0", expectedVersion: 2, CancellationToken.None));
        Assert.False(await store.TryRemoveAsync("node-9", expectedVersion: 1, CancellationToken.None));

        Assert.Null(await store.ReadAsync("node-0", CancellationToken.None));
        Assert.Equal(["node-1"], (await store.ReadAllAsync(CancellationToken.None)).Select(r => r.Id));
    }

    [SkippableFact]
    public async Task AnnouncementsReachEverySubscriberOfTheCluster()
    {
        var cluster = NewClusterName();
        var publisher = await CreateStoreAsync(cluster);
        var listener = await CreateStoreAsync(cluster);
        var outsider = await CreateStoreAsync(NewClusterName());
        var received = new TaskCompletionSource<MembershipEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var leaked = false;
        await using var subscription = await listener.SubscribeAsync(e => received.TrySetResult(e), CancellationToken.None);
        await using var other = await outsider.SubscribeAsync(_ => leaked = true, CancellationToken.None);

        await publisher.PublishAsync(new MembershipEvent(MembershipEventKind.Joined, "node-3", 7), CancellationToken.None);

        var membershipEvent = await received.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(new MembershipEvent(MembershipEventKind.Joined, "node-3", 7), membershipEvent);
        Assert.False(leaked, "an announcement crossed into another cluster");
    }

    [SkippableFact]
    public async Task ClustersDoNotSeeEachOthersMembers()
    {
        var a = await CreateStoreAsync(NewClusterName());
        var b = await CreateStoreAsync(NewClusterName());

        await a.TryWriteAsync(Row("node-0"), 0, CancellationToken.None);

        Assert.Empty(await b.ReadAllAsync(CancellationToken.None));
        Assert.True(await b.TryWriteAsync(Row("node-0"), 0, CancellationToken.None));
    }

    private static MemberState StateAt(IReadOnlyList<MemberRow> rows, DateTimeOffset now) =>
        MembershipSnapshot.Create(rows, now, Timing).Members.Single().State;
}
