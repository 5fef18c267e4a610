using BenchmarkDotNet.Attributes;
using LogStream.Node.Repair;
using LogStream.Node.Storage;

namespace LogStream.Benchmarks.Repair;

/// <summary>
/// Start-up cost of the Merkle trees (rebuilt, not persisted: built from the digests the store lists at start-up),
/// the O(1) update on append, and the digest index a repair builds for a differing bucket.
/// </summary>
[MemoryDiagnoser]
public class MerkleBenchmarks
{
    private RecordDigest[] _digests = [];
    private BucketKey _bucket;

    [Params(1_000_000)]
    public int Records { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _digests = Enumerable.Range(0, Records)
            .Select(i => new RecordDigest(Guid.CreateVersion7().ToString(), (ulong)random.NextInt64(), 250))
            .ToArray();
        _bucket = new BucketKey("source:checkout", DateTimeOffset.UnixEpoch);
    }

    /// <summary>What start-up adds for a node holding <see cref="Records"/> records.</summary>
    [Benchmark]
    public MerkleTrees RebuildAtStartUp()
    {
        var trees = new MerkleTrees();
        trees.OnBucketLoaded(_bucket, _digests);
        return trees;
    }

    /// <summary>The per-append cost, per record.</summary>
    [Benchmark(OperationsPerInvoke = 1000)]
    public BucketTree AppendThousand()
    {
        var tree = new BucketTree();
        for (var i = 0; i < 1000; i++)
            tree.Add(_digests[i].Id, _digests[i].ContentHash);
        return tree;
    }

    /// <summary>What a repair pays once per differing bucket (and version) to go below the stored leaves.</summary>
    [Benchmark]
    public DigestIndex BuildDigestIndex() => DigestIndex.Build(_digests, 1);
}
