using System.Collections.Concurrent;
using LogStream.Storage;

namespace LogStream.Node.Repair;

/// <summary>
/// Every local bucket's <see cref="BucketTree"/>, kept current by the store (this is its observer): built from the
/// digests the store lists at start-up (rebuilt, not persisted: the store holds every digest in memory anyway), then
/// updated on every append, removal and drop. Never touches the store itself.
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

    public override void OnBucketLoaded(BucketKey bucket, ReadOnlySpan<RecordDigest> records)
    {
        var tree = new BucketTree();
        foreach (var record in records)
            tree.Add(record);
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

    // The lost records also arrive through OnRemoved; the difference they leave is what the next round repairs.
    public override void OnCorruption(CorruptionReport report) => Interlocked.Increment(ref _corruptionReports);
}
