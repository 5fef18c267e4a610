using System.Collections.Concurrent;
using LogStream.Storage;

namespace LogStream.Node.Repair;

/// <summary>
/// Every local bucket's <see cref="BucketTree"/>, kept current by the store (this is its observer): built from the
/// leaves the store gives at start-up (persisted with sealed segments, so no record is read or hashed), then updated on
/// every append, removal and drop, and replaced when a rewrite lost records. Never touches the store itself.
/// </summary>
public sealed class MerkleTrees(TimeProvider timeProvider) : StorageObserverBase
{
    private readonly ConcurrentDictionary<BucketKey, BucketTree> _trees = new();

    /// <summary>Corrupt data reported by the store since start (what anti-entropy re-fetches).</summary>
    public long CorruptionReports => Interlocked.Read(ref _corruptionReports);

    private long _corruptionReports;

    public BucketTree? Find(BucketKey bucket) => _trees.GetValueOrDefault(bucket);

    /// <summary>Whether records were added to the bucket within <paramref name="period"/> (ingest is landing there).</summary>
    public bool WrittenWithin(BucketKey bucket, TimeSpan period) =>
        Find(bucket) is { LastWrite: > 0 } tree && timeProvider.GetElapsedTime(tree.LastWrite) < period;

    public IEnumerable<KeyValuePair<BucketKey, BucketTree>> All => _trees;

    /// <summary>Memory of the trees.</summary>
    public long Bytes => (long)_trees.Count * BucketTree.Bytes;

    public override void OnBucketLoaded(BucketKey bucket, MerkleLeaves leaves)
    {
        var old = _trees.GetValueOrDefault(bucket);
        var tree = new BucketTree(leaves, old is null ? 0 : old.Version + 1);
        if (old is not null)
            tree.Written(old.LastWrite);
        _trees[bucket] = tree;
    }

    public override void OnAppended(BucketKey bucket, ReadOnlySpan<RecordDigest> added)
    {
        var tree = _trees.GetOrAdd(bucket, static _ => new BucketTree());
        foreach (var record in added)
            tree.Add(record);
        tree.Written(timeProvider.GetTimestamp());
    }

    public override void OnRemoved(BucketKey bucket, ReadOnlySpan<RecordDigest> removed)
    {
        if (!_trees.TryGetValue(bucket, out var tree))
            return;
        foreach (var record in removed)
            tree.Remove(record);
    }

    public override void OnBucketDropped(BucketKey bucket) => _trees.TryRemove(bucket, out _);

    // The bucket's new leaves follow (OnBucketLoaded) once maintenance rewrites it; the difference is what repair fixes.
    public override void OnCorruption(CorruptionReport report) => Interlocked.Increment(ref _corruptionReports);
}
