namespace LogStream.Storage;

/// <summary>
/// Hook for components that keep derived per-bucket state (the anti-entropy Merkle trees). Register
/// implementations in DI; the store calls all of them. Appends, removals, drops and loads are reported synchronously,
/// under the bucket's lock, in the order the changes happen, so derived state never drifts (corruption met by a
/// query is reported from the reading thread; the bucket's leaves follow as <see cref="OnBucketLoaded"/> once
/// maintenance rewrites the bucket). Keep calls fast, never block, never call back into the store. An exception is logged and
/// does not fail the append. An observer must not depend on <see cref="ILogStore"/> (that would be a dependency cycle): keep the
/// derived state in its own class and let the service that uses the store read it.
/// </summary>
public interface IStorageObserver
{
    /// <summary>
    /// What one bucket holds, as its Merkle leaves: at start-up (after recovery, before any append), and again whenever
    /// a rewrite changed it in a way not reported record by record (records lost to corruption): replace, do not add.
    /// </summary>
    void OnBucketLoaded(BucketKey bucket, MerkleLeaves leaves);

    /// <summary>Records newly stored (never ones that were already present). Called before the append is acknowledged.</summary>
    void OnAppended(BucketKey bucket, ReadOnlySpan<RecordDigest> added);

    /// <summary>Records removed by <see cref="ILogStore.RemoveAsync"/>.</summary>
    void OnRemoved(BucketKey bucket, ReadOnlySpan<RecordDigest> removed);

    /// <summary>A whole bucket dropped (retention or <see cref="ILogStore.DropBucketAsync"/>).</summary>
    void OnBucketDropped(BucketKey bucket);

    /// <summary>Corrupt bytes found (CRC mismatch, unreadable block); the records named are no longer held.</summary>
    void OnCorruption(CorruptionReport report);
}

/// <summary>
/// Corrupt data found in a segment. <see cref="LostIdHashes"/> are the records known to be lost, by id hash
/// (<see cref="LostIds"/> by id where the damage left it readable); either may be empty when the damage hid them: the
/// Merkle comparison then finds the difference. Repair re-fetches them from a replica.
/// </summary>
public sealed record CorruptionReport(BucketKey Bucket, string SegmentPath, long Offset, long Length, IReadOnlyList<string> LostIds,
    IReadOnlyList<ulong> LostIdHashes, string Reason);

/// <summary>Base class with empty methods, for observers that care about a few events only.</summary>
public abstract class StorageObserverBase : IStorageObserver
{
    public virtual void OnBucketLoaded(BucketKey bucket, MerkleLeaves leaves) { }

    public virtual void OnAppended(BucketKey bucket, ReadOnlySpan<RecordDigest> added) { }

    public virtual void OnRemoved(BucketKey bucket, ReadOnlySpan<RecordDigest> removed) { }

    public virtual void OnBucketDropped(BucketKey bucket) { }

    public virtual void OnCorruption(CorruptionReport report) { }
}
