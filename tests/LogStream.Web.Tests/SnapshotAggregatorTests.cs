using LogStream.Web.Cluster;
using LogStream.Web.Snapshot;

namespace LogStream.Web.Tests;

/// <summary>The figures of the tiles, the node table and the partition table, from what one refresh fetched.</summary>
public sealed class SnapshotAggregatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 15, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Bucket = new(2026, 11, 26, 15, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private static ClusterReport Cluster(DateTimeOffset at, params (string Id, string State)[] members) => new(
        new ClusterInfo("logstream", "node-0", false, at, 3,
            members.Select(m => new MemberInfo(m.Id, $"http://{m.Id}", null, m.State, at.AddSeconds(-1), 1, 0.33)).ToList(),
            new RingInfo(1024, "f1", null),
            [new ClusterPartitionInfo("source:checkout", "0", ["node-0", "node-1", "node-2"], 10, 1)]),
        "http://node-0", [], at);

    private static readonly (string, string)[] ThreeUp = [("node-0", "up"), ("node-1", "up"), ("node-2", "up")];

    private static NodePoll Poll(string id, long ingested, long stored = 100, long repairs = 0, long repaired = 0, long hints = 0,
        long quorumFailures = 0, string root = "00000000000000aa", long bucketRecords = 100) =>
        new(id, $"http://{id}", new NodeInfo(id, null, $"http://{id}",
            new NodeStats(ingested, stored, stored * 50, hints, quorumFailures, repairs, repaired, 1, null),
            [new NodeBucketInfo("source:checkout", Bucket, bucketRecords, root, false), new NodeBucketInfo("source:auth", Bucket, 5, "0b", false)]), null);

    private static NodePoll Failed(string id, string why) => new(id, $"http://{id}", null, why);

    [Fact]
    public void TheTilesAreTheSumsOfTheNodesFigures()
    {
        var snapshot = SnapshotAggregator.Aggregate(DashboardSnapshot.Empty(T0), Cluster(T0, ThreeUp),
            [Poll("node-0", 100, repairs: 2, repaired: 7, hints: 1), Poll("node-1", 50, repairs: 1, repaired: 3, quorumFailures: 2), Poll("node-2", 0)],
            new ErrorTally(9, false, T0), T0, Window);

        Assert.Equal(T0, snapshot.LastUpdate);
        Assert.Equal(150, snapshot.Ingested);
        Assert.Equal(3, snapshot.RepairsCompleted);
        Assert.Equal(10, snapshot.RecordsRepaired);
        Assert.Equal(1, snapshot.HintsPending);
        Assert.Equal(2, snapshot.QuorumFailures);
        Assert.Equal(300, snapshot.RecordsStored);
        Assert.Equal(15_000, snapshot.DiskBytes);
        Assert.Equal(3, snapshot.ReadRepaired);
        Assert.Equal(9, snapshot.ErrorCount);
        Assert.False(snapshot.Stale);
        Assert.Empty(snapshot.Problems);
        Assert.Equal(["node-0", "node-1", "node-2"], snapshot.Nodes.Select(n => n.Id));
        Assert.All(snapshot.Nodes, n => Assert.Equal(2, n.Partitions));
    }

    [Fact]
    public void ANodeThatStopsAnsweringKeepsItsLastFiguresMarkedStaleAndIsNamed()
    {
        var first = SnapshotAggregator.Aggregate(DashboardSnapshot.Empty(T0), Cluster(T0, ThreeUp),
            [Poll("node-0", 100, repairs: 4), Poll("node-1", 50), Poll("node-2", 25)], null, T0, Window);
        var t1 = T0.AddSeconds(1);
        var second = SnapshotAggregator.Aggregate(first, Cluster(t1, ThreeUp),
            [Failed("node-0", "no answer within 2 s"), Poll("node-1", 60), Poll("node-2", 25)], null, t1, Window);

        Assert.Equal(185, second.Ingested);
        Assert.Equal(4, second.RepairsCompleted);
        Assert.True(second.Stale);
        Assert.Equal(T0, second.FiguresAsOf);
        var node0 = second.Nodes.Single(n => n.Id == "node-0");
        Assert.False(node0.Reachable);
        Assert.Equal("no answer within 2 s", node0.Error);
        Assert.Equal(T0, node0.FetchedAt);
        Assert.Contains(second.Problems, p => p.Contains("node-0 does not answer (no answer within 2 s)", StringComparison.Ordinal)
                                              && p.Contains("15:00:00Z", StringComparison.Ordinal));
    }

    [Fact]
    public void ADownMemberIsNamedWithItsLastHeartbeat()
    {
        var snapshot = SnapshotAggregator.Aggregate(DashboardSnapshot.Empty(T0), Cluster(T0, ("node-0", "up"), ("node-1", "up"), ("node-2", "down")),
            [Poll("node-0", 1), Poll("node-1", 1), Failed("node-2", "member is down")], null, T0, Window);

        Assert.Contains("node-2 is down (last heartbeat 14:59:59Z).", snapshot.Problems);
        Assert.DoesNotContain(snapshot.Problems, p => p.Contains("node-2 does not answer", StringComparison.Ordinal));
        Assert.Equal("down", snapshot.Nodes.Single(n => n.Id == "node-2").State);
    }

    [Fact]
    public void WithoutAnyClusterViewTheLastFiguresStayAndTheBannerSaysNoNodeAnswers()
    {
        var first = SnapshotAggregator.Aggregate(DashboardSnapshot.Empty(T0), Cluster(T0, ThreeUp),
            [Poll("node-0", 10), Poll("node-1", 20), Poll("node-2", 30)], new ErrorTally(4, false, T0), T0, Window);
        var t1 = T0.AddSeconds(1);
        var none = new ClusterReport(null, null, ["http://node-0: Connection refused"], t1);
        var second = SnapshotAggregator.Aggregate(first, none, [], null, t1, Window);

        Assert.Equal(t1, second.LastUpdate);
        Assert.Equal(60, second.Ingested);
        Assert.Equal(4, second.ErrorCount);
        Assert.True(second.Stale);
        Assert.NotNull(second.Cluster);
        Assert.All(second.Nodes, n => Assert.Equal("unknown", n.State));
        Assert.StartsWith("No node answers (http://node-0: Connection refused)", second.Problems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void TheRateIsIngestedRecordsPerSecondOverTheWindowAndNeverNegative()
    {
        var snapshot = DashboardSnapshot.Empty(T0);
        long[] totals = [0, 100, 300, 600];
        for (var i = 0; i < totals.Length; i++)
        {
            var at = T0.AddSeconds(i);
            snapshot = SnapshotAggregator.Aggregate(snapshot, Cluster(at, ThreeUp), [Poll("node-0", totals[i]), Poll("node-1", 0), Poll("node-2", 0)], null, at, Window);
        }
        Assert.Equal(200, snapshot.Rate);   // 600 records over 3 s

        // node-0 restarts: its counter starts again from 0.
        var later = T0.AddSeconds(4);
        snapshot = SnapshotAggregator.Aggregate(snapshot, Cluster(later, ThreeUp), [Poll("node-0", 0), Poll("node-1", 0), Poll("node-2", 0)], null, later, Window);
        Assert.Equal(0, snapshot.Rate);

        // Samples older than the window are forgotten.
        var muchLater = T0.AddSeconds(30);
        snapshot = SnapshotAggregator.Aggregate(snapshot, Cluster(muchLater, ThreeUp), [Poll("node-0", 50), Poll("node-1", 0), Poll("node-2", 0)], null, muchLater, Window);
        Assert.Single(snapshot.History);
    }

    [Fact]
    public void APartitionIsInSyncOnlyWhenEveryReplicaAnsweredWithTheSameRoot()
    {
        PartitionSync Checkout(params NodePoll[] polls) =>
            SnapshotAggregator.Aggregate(DashboardSnapshot.Empty(T0), Cluster(T0, ThreeUp), polls, null, T0, Window)
                .Partitions.Single(p => p.Partition == "source:checkout");

        var same = Checkout(Poll("node-0", 0), Poll("node-1", 0), Poll("node-2", 0));
        Assert.Equal("in_sync", same.Status);
        Assert.True(same.InSync);
        Assert.Equal(["node-0", "node-1", "node-2"], same.Replicas.Select(r => r.Node));
        Assert.All(same.Replicas, r => Assert.Equal(100, r.Records));
        Assert.Equal("0", same.Token);
        Assert.Equal(0, same.Position);

        var differs = Checkout(Poll("node-0", 0), Poll("node-1", 0, root: "00000000000000bb", bucketRecords: 95), Poll("node-2", 0));
        Assert.Equal("differs", differs.Status);
        Assert.False(differs.InSync);

        var missing = Checkout(Poll("node-0", 0), Poll("node-1", 0),
            new NodePoll("node-2", "http://node-2", new NodeInfo("node-2", null, null, new NodeStats(0, 0, 0, 0, 0, 0, 0, 0, null), []), null));
        Assert.Equal("differs", missing.Status);
        Assert.False(missing.Replicas.Single(r => r.Node == "node-2").Present);

        var unknown = Checkout(Poll("node-0", 0), Poll("node-1", 0), Failed("node-2", "timeout"));
        Assert.Equal("unknown", unknown.Status);
    }
}

/// <summary>Where the ring picture puts a token.</summary>
public sealed class RingPositionTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("4611686018427387904", 0.25)]
    [InlineData("9223372036854775808", 0.5)]
    [InlineData("18446744073709551615", 0.9999999)]
    [InlineData("not a token", 0)]
    [InlineData("-1", 0)]
    public void ATokenIsAFractionOfATurn(string token, double fraction) =>
        Assert.Equal(fraction, LogStream.Web.Cluster.RingCache.Fraction(token));
}
