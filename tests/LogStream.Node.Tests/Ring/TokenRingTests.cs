using LogStream.Node.Ring;
using Xunit.Abstractions;

namespace LogStream.Node.Tests.Ring;

public sealed class TokenRingTests(ITestOutputHelper output)
{
    private const int Keys = 100_000;
    private static readonly int DefaultVirtualNodes = new RingOptions().VirtualNodes;

    private static TokenRing RingOf(params string[] ids) =>
        TokenRing.Create(ids.Select(id => new RingMember(id, null)), DefaultVirtualNodes);

    private static IEnumerable<ulong> RandomKeys(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < Keys; i++)
            yield return (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
    }

    [Fact]
    public void WithThreeNodesTheMostLoadedOwnsAtMost115PercentOfTheLeastLoadedsShare()
    {
        var ring = RingOf("node-0", "node-1", "node-2");

        var counts = RandomKeys(seed: 42).GroupBy(k => ring.OwnerOf(k)!.Id).ToDictionary(g => g.Key, g => g.Count());

        output.WriteLine(string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}")));
        Assert.Equal(3, counts.Count);
        var ratio = (double)counts.Values.Max() / counts.Values.Min();
        output.WriteLine($"max/min = {ratio:F3}");
        Assert.True(ratio <= 1.15, $"most/least loaded = {ratio:F3}");
    }

    [Theory]
    [InlineData("a", "b", "c")]
    [InlineData("logstream-0", "logstream-1", "logstream-2")]
    [InlineData("store-east", "store-west", "store-north")]
    public void BalanceHoldsForOtherNodeNamesToo(params string[] ids)
    {
        var shares = RingOf(ids).PrimaryOwnership().Values.ToArray();
        output.WriteLine(string.Join(", ", shares.Select(s => s.ToString("F4"))));
        Assert.True(shares.Max() / shares.Min() <= 1.15, $"ownership {string.Join(", ", shares)}");
    }

    [Fact]
    public void AddingAFourthNodeMovesAboutAQuarterOfTheKeysAndOnlyToTheNewNode()
    {
        var before = RingOf("node-0", "node-1", "node-2");
        var after = RingOf("node-0", "node-1", "node-2", "node-3");

        var moved = 0;
        foreach (var key in RandomKeys(seed: 7))
        {
            var oldOwner = before.OwnerOf(key)!.Id;
            var newOwner = after.OwnerOf(key)!.Id;
            if (oldOwner == newOwner)
                continue;
            moved++;
            Assert.Equal("node-3", newOwner);
        }

        output.WriteLine($"moved {moved} of {Keys} ({(double)moved / Keys:P2}); ideal 25 %");
        Assert.True(moved <= 1.2 * Keys / 4, $"{moved} keys moved, more than 1.2 x the ideal quarter");
        Assert.True(moved > 0.8 * Keys / 4, $"{moved} keys moved: the new node took far less than its share");
    }

    [Fact]
    public void ReplicasAreThreeDistinctNodesStartingWithThePrimaryOwner()
    {
        var ring = RingOf("node-0", "node-1", "node-2", "node-3", "node-4");

        foreach (var key in RandomKeys(seed: 3).Take(5_000))
        {
            var replicas = ring.ReplicasFor(key, 3);
            Assert.Equal(3, replicas.Length);
            Assert.Equal(3, replicas.Select(r => r.Id).Distinct().Count());
            Assert.Equal(ring.OwnerOf(key), replicas[0]);
        }
    }

    [Fact]
    public void ReplicasAreInThreeDistinctZonesWhenThreeZonesExist()
    {
        // Six nodes in three zones: a zone-blind walk would often put two copies in one zone.
        var members = Enumerable.Range(0, 6).Select(i => new RingMember($"node-{i}", $"zone-{i % 3}")).ToList();
        var ring = TokenRing.Create(members, DefaultVirtualNodes);
        var zoneBlind = TokenRing.Create(members.Select(m => m with { Zone = null }), DefaultVirtualNodes);

        var sharedZoneWithoutAwareness = 0;
        foreach (var key in RandomKeys(seed: 5).Take(10_000))
        {
            var replicas = ring.ReplicasFor(key, 3);
            Assert.Equal(3, replicas.Select(r => r.Zone).Distinct().Count());
            Assert.Equal(3, replicas.Select(r => r.Id).Distinct().Count());
            var blind = zoneBlind.ReplicasFor(key, 3).Select(r => members.Single(m => m.Id == r.Id).Zone).Distinct().Count();
            if (blind < 3)
                sharedZoneWithoutAwareness++;
        }
        Assert.True(sharedZoneWithoutAwareness > 0, "the test would pass without zone awareness: it proves nothing");
    }

    [Fact]
    public void WithTwoZonesForThreeReplicasBothZonesAreUsedAndTheThirdCopyFillsInRingOrder()
    {
        var members = new[] { new RingMember("a1", "a"), new RingMember("a2", "a"), new RingMember("b1", "b"), new RingMember("b2", "b") };
        var ring = TokenRing.Create(members, DefaultVirtualNodes);

        foreach (var key in RandomKeys(seed: 11).Take(2_000))
        {
            var replicas = ring.ReplicasFor(key, 3);
            Assert.Equal(3, replicas.Select(r => r.Id).Distinct().Count());
            Assert.Equal(2, replicas.Take(2).Select(r => r.Zone).Distinct().Count());
        }
    }

    [Fact]
    public void ReplicationFactorLargerThanTheClusterGivesEveryNodeOnce()
    {
        var ring = RingOf("node-0", "node-1");

        var replicas = ring.ReplicasFor(12345UL, 3);

        Assert.Equal(["node-0", "node-1"], replicas.Select(r => r.Id).Order());
        Assert.Empty(TokenRing.Empty.ReplicasFor(12345UL, 3));
    }

    [Fact]
    public void TheSameMemberListGivesTheSameRingOnEveryNodeWhateverTheOrder()
    {
        var a = RingOf("node-2", "node-0", "node-1");
        var b = RingOf("node-0", "node-1", "node-2");
        var c = RingOf("node-1", "node-2", "node-0", "node-1");

        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.Equal(a.Fingerprint, c.Fingerprint);
        foreach (var id in new[] { "node-0", "node-1", "node-2" })
        {
            Assert.Equal(DefaultVirtualNodes, a.TokensOf(id).Count);
            Assert.Equal(a.TokensOf(id), b.TokensOf(id));
            Assert.Equal(a.TokensOf(id), c.TokensOf(id));
        }
        foreach (var key in RandomKeys(seed: 1).Take(1_000))
            Assert.Equal(a.ReplicasFor(key, 3).Select(r => r.Id), b.ReplicasFor(key, 3).Select(r => r.Id));
    }

    [Fact]
    public void TokensAreAPureFunctionOfTheNodeIdAndDoNotDependOnTheOtherMembers()
    {
        var small = RingOf("node-0", "node-1");
        var large = RingOf("node-0", "node-1", "node-2", "node-3");

        Assert.Equal(small.TokensOf("node-0"), large.TokensOf("node-0"));
        Assert.NotEqual(small.Fingerprint, large.Fingerprint);
    }

    [Fact]
    public void PartitionKeysMapToStableTokens()
    {
        // Frozen: changing the key hash would move every partition of every existing cluster.
        Assert.Equal(TokenRing.TokenFor("source:checkout"), TokenRing.TokenFor("source:checkout"));
        Assert.Equal(0xEF46DB3751D8E999UL, TokenRing.TokenFor(""));
    }
}
