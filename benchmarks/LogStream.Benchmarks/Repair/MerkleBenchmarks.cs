using BenchmarkDotNet.Attributes;
using LogStream.Node.Repair;
using LogStream.Storage;

namespace LogStream.Benchmarks.Repair;

/// <summary>
/// Start-up cost of the Merkle trees (built from the leaves the store persisted or rebuilt), the O(1) update on
/// append, and the digest index a repair builds for a differing bucket.
/// </summary>
[MemoryDiagnoser]
public class MerkleBenchmarks
{
    private RecordDigest[] _digests = [];
    private BucketKey _bucket;
    private LeafSet _tenLeaves = LeafSet.Of([]);

    [Params(1_000_000)]
    public int Records { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _digests = Enumerable.Range(0, Records)
            .Select(i => RecordDigest.Of(Guid.CreateVersion7().ToString(), (ulong)random.NextInt64()))
            .ToArray();
        _bucket = new BucketKey("source:checkout", DateTimeOffset.UnixEpoch);
        _tenLeaves = LeafSet.Of(Enumerable.Range(0, 10).Select(i => (BucketTree.LeafBits, (ulong)(i * 100) << (64 - BucketTree.LeafBits))));
    }

    /// <summary>What rebuilding a bucket's leaves from its records costs (recovery of a log segment; sealed segments persist them).</summary>
    [Benchmark]
    public MerkleTrees RebuildLeavesFromRecords()
    {
        var leaves = new MerkleLeaves();
        foreach (var digest in _digests)
            leaves.Add(digest.IdHash, digest.ContentHash);
        var trees = new MerkleTrees(TimeProvider.System);
        trees.OnBucketLoaded(_bucket, leaves);
        return trees;
    }

    /// <summary>The per-append cost, per record.</summary>
    [Benchmark(OperationsPerInvoke = 1000)]
    public BucketTree AppendThousand()
    {
        var tree = new BucketTree();
        for (var i = 0; i < 1000; i++)
            tree.Add(_digests[i]);
        return tree;
    }

    /// <summary>What a repair pays once per differing bucket (and version) to go below the stored leaves, when every leaf differs.</summary>
    [Benchmark]
    public DigestIndex BuildDigestIndex() => DigestIndex.Build(_digests, 1);

    /// <summary>The same when ten of the 1024 leaves differ (a few lost records): only their records are indexed.</summary>
    [Benchmark]
    public DigestIndex BuildDigestIndexOfTenLeaves() => DigestIndex.Build(_digests, 1, _tenLeaves);
}
