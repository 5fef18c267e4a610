using LogStream.Node.Repair;
using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Node.Tests.Repair;

public sealed class MerkleTreeTests
{
    private static List<RecordDigest> Digests(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => RecordDigest.Of($"record-{seed}-{i}", (ulong)random.NextInt64()))
            .ToList();
    }

    private static BucketTree TreeOf(IEnumerable<RecordDigest> digests)
    {
        var tree = new BucketTree();
        foreach (var digest in digests)
            tree.Add(digest);
        return tree;
    }

    [Fact]
    public void StoredLevelsAgreeWithTheDigestIndexAndEveryNodeIsTheXorOfItsChildren()
    {
        var digests = Digests(5000, seed: 1);
        var tree = TreeOf(digests);
        var index = DigestIndex.Build(digests, tree.Version);
        var random = new Random(2);

        Assert.Equal(tree.Root, index.Node(0, 0));
        for (var level = 1; level <= BucketTree.LeafBits; level++)
        {
            var prefix = (ulong)random.NextInt64() & ~(ulong.MaxValue >> level);
            Assert.Equal(tree.Node(level, prefix), index.Node(level, prefix));
        }
        for (var level = 0; level < 24; level++)
        {
            var prefix = level == 0 ? 0 : (ulong)random.NextInt64() & ~(ulong.MaxValue >> level);
            var (parent, parentRecords) = index.Node(level, prefix);
            var (left, leftRecords) = index.Node(level + 1, prefix);
            var (right, rightRecords) = index.Node(level + 1, prefix | (1UL << (63 - level)));
            Assert.Equal(parent, left ^ right);
            Assert.Equal(parentRecords, leftRecords + rightRecords);
        }
    }

    [Fact]
    public void AnIndexOfSomeLeavesHoldsOnlyTheirRecordsAndAnswersForThemAsTheWholeIndexDoes()
    {
        var digests = Digests(20_000, seed: 7);
        var whole = DigestIndex.Build(digests, version: 1);
        // Two leaves asked for below the stored level, and a subtree of four leaves above it.
        var deepA = (5UL << 54) | (1UL << 50);
        var deepB = 700UL << 54;
        var subtree = 0b10110UL << 59;
        var leaves = LeafSet.Of([(14, deepA), (11, deepB), (5, subtree)]);
        var some = DigestIndex.Build(digests, version: 1, leaves);

        Assert.Equal(1 + 1 + 32, leaves.Count);
        var expected = digests.Count(d => leaves.Contains(LeafSet.LeafOf(d.IdHash)));
        Assert.Equal(expected, some.Count);
        Assert.InRange(some.Count, 1, digests.Count / 20);
        foreach (var (level, prefix) in new[] { (14, deepA), (11, deepB), (10, deepB), (24, deepB | (3UL << 40)), (5, subtree), (8, subtree | (1UL << 57)) })
        {
            Assert.Equal(whole.Node(level, prefix), some.Node(level, prefix));
            Assert.Equal(whole.Digests(level, prefix).ToArray(), some.Digests(level, prefix).ToArray());
        }

        // A node outside the leaves it was built for is refused, never answered as empty.
        Assert.False(some.Covers(10, 6UL << 54));
        Assert.Throws<InvalidOperationException>(() => some.Node(10, 6UL << 54));
        Assert.Throws<InvalidOperationException>(() => some.Digests(4, subtree));
        Assert.True(whole.Covers(0, 0));
    }

    [Fact]
    public void ABuildAskedToStopIsAbandonedAndOneNotAskedIsComplete()
    {
        var digests = Digests(200_000, seed: 8);
        var asked = 0;

        Assert.Throws<BucketBusyException>(() => DigestIndex.Build(digests, version: 1, stop: () => ++asked >= 2));
        Assert.Equal(2, asked);
        Assert.Equal(digests.Count, DigestIndex.Build(digests, version: 1, stop: () => false).Count);
    }

    [Fact]
    public void ATreeBuiltFromTheStoresLeavesEqualsTheTreeOfItsRecords()
    {
        var digests = Digests(5000, seed: 9);
        var leaves = new MerkleLeaves();
        foreach (var digest in digests)
            leaves.Add(digest.IdHash, digest.ContentHash);
        var fromLeaves = new BucketTree(leaves);
        var fromRecords = TreeOf(digests);

        Assert.Equal(fromRecords.Root, fromLeaves.Root);
        for (var leaf = 0; leaf < BucketTree.LeafCount; leaf += 37)
            Assert.Equal(fromRecords.Node(BucketTree.LeafBits, (ulong)leaf << (64 - BucketTree.LeafBits)), fromLeaves.Node(BucketTree.LeafBits, (ulong)leaf << (64 - BucketTree.LeafBits)));
    }

    [Fact]
    public void TheRootDependsOnTheSetOfRecordsNotOnTheirOrder()
    {
        var digests = Digests(1000, seed: 3);
        var shuffled = digests.ToArray();
        new Random(4).Shuffle(shuffled);

        Assert.Equal(TreeOf(digests).Root, TreeOf(shuffled).Root);
    }

    [Fact]
    public void RemovingARecordUndoesItsAdditionInO1()
    {
        var digests = Digests(300, seed: 5);
        var tree = TreeOf(digests);
        var before = tree.Root;
        var extra = RecordDigest.Of("late-record", 42);

        tree.Add(extra);
        Assert.NotEqual(before, tree.Root);
        tree.Remove(extra);

        Assert.Equal(before, tree.Root);
    }

    [Fact]
    public void AChangedContentHashChangesTheRootEvenWithTheSameIds()
    {
        var digests = Digests(100, seed: 6);
        var altered = digests.Select((d, i) => i == 50 ? d with { ContentHash = d.ContentHash ^ 1 } : d).ToList();

        Assert.NotEqual(TreeOf(digests).Root.Root, TreeOf(altered).Root.Root);
        Assert.Equal(TreeOf(digests).Root.Records, TreeOf(altered).Root.Records);
    }

    [Fact]
    public void DescendingOnlyIntoDifferingChildrenFindsExactlyTheMissingRecords()
    {
        var all = Digests(20_000, seed: 7);
        var missing = all.Where((_, i) => i % 997 == 0).ToHashSet();
        var full = DigestIndex.Build(all, 1);
        var partial = DigestIndex.Build(all.Where(d => !missing.Contains(d)).ToList(), 1);

        var found = new List<RecordDigest>();
        var visited = 0;
        var frontier = new List<(int Level, ulong Prefix)> { (0, 0) };
        while (frontier.Count > 0)
        {
            var next = new List<(int, ulong)>();
            foreach (var (level, prefix) in frontier)
            {
                visited++;
                if (full.Node(level, prefix) == partial.Node(level, prefix))
                    continue;
                if (full.Node(level, prefix).Records <= 4)
                {
                    var have = partial.Digests(level, prefix).ToArray().Select(d => d.IdHash).ToHashSet();
                    found.AddRange(full.Digests(level, prefix).ToArray().Where(d => !have.Contains(d.IdHash)));
                    continue;
                }
                next.Add((level + 1, prefix));
                next.Add((level + 1, prefix | (1UL << (63 - level))));
            }
            frontier = next;
        }

        Assert.Equal(missing.Select(d => d.IdHash).Order(), found.Select(d => d.IdHash).Order());
        // Far fewer nodes than records were looked at: the walk followed differing paths only.
        Assert.True(visited < 20 * missing.Count * 2, $"visited {visited} nodes for {missing.Count} missing records");
    }

    [Fact]
    public async Task ThePacerLetsABurstThroughThenKeepsTheRate()
    {
        var time = new FakeTimeProvider();
        var pacer = new RepairPacer(recordsPerSecond: 1000, time);

        Assert.True(pacer.AcquireAsync(1000, CancellationToken.None).IsCompletedSuccessfully, "the first second's worth is a burst");
        var second = pacer.AcquireAsync(1000, CancellationToken.None);
        Assert.True(second.IsCompletedSuccessfully, "the burst allowance covers one second behind");
        var third = pacer.AcquireAsync(1000, CancellationToken.None);
        Assert.False(third.IsCompleted);

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(third.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        // The timer's continuation runs on the thread pool: wait for it (bounded) rather than race it.
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(third.IsCompletedSuccessfully);
    }
}
