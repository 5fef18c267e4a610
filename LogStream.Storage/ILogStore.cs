namespace LogStream.Storage;

/// <summary>
/// A node's local log store: durable, idempotent appends; streaming queries; the per-bucket views that repair,
/// retention and anti-entropy need. Idempotency key: (partition, bucket, id). A retry of a record always lands on
/// the same key, because partition and bucket derive from its source and timestamp.
/// </summary>
public interface ILogStore
{
    /// <summary>How records map to partitions and buckets in this store.</summary>
    Partitioner Partitioner { get; }

    /// <summary>
    /// Appends a batch; returns once the durability promise holds for every record reported
    /// <see cref="AppendStatus.Added"/> or <see cref="AppendStatus.AlreadyPresent"/> (also for a record that another
    /// concurrent append is still making durable). Records are validated by <see cref="LogRecord"/>'s constructor;
    /// a record larger than <c>MaxRecordBytes</c> fails the whole batch before anything is written.
    /// </summary>
    ValueTask<AppendResult> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken = default);

    /// <summary>
    /// The same for records already encoded and framed (the write path: no record is decoded or encoded again).
    /// <paramref name="indexes"/> selects records of the batch (all when null); the result's statuses follow it.
    /// The batch stays the caller's: it is not disposed.
    /// </summary>
    ValueTask<AppendResult> AppendAsync(EncodedBatch batch, IReadOnlyList<int>? indexes = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Matching records, newest first (timestamp descending, then id descending, then partition descending, both
    /// ordinal: a total order, so replicas and repeated queries agree), at most
    /// <see cref="LogQuery.Limit"/>. Streams: memory stays bounded by one block plus per-segment candidate positions.
    /// Records appended but not yet durable may be seen.
    /// </summary>
    IAsyncEnumerable<LogRecord> QueryAsync(LogQuery query, CancellationToken cancellationToken = default);

    /// <summary>Counts matching records; answered from block statistics where they are exact, else by scanning.</summary>
    ValueTask<long> CountAsync(LogQuery query, CancellationToken cancellationToken = default);

    /// <summary>Every local (partition, bucket) with its record count, bytes on disk and sealed flag.</summary>
    IReadOnlyList<BucketInfo> ListBuckets();

    /// <summary>All records of one bucket, in storage order (no order promised). Empty when the bucket is unknown.</summary>
    IAsyncEnumerable<LogRecord> ReadBucketAsync(BucketKey bucket, CancellationToken cancellationToken = default);

    /// <summary>
    /// The records of one bucket whose id hash (<see cref="RecordIdHash"/>) is one of <paramref name="idHashes"/>, in
    /// storage order. Anti-entropy exchanges records by id hash: a sealed bucket finds them through its id index and
    /// reads only the blocks that hold them.
    /// </summary>
    IAsyncEnumerable<LogRecord> ReadRecordsAsync(BucketKey bucket, IReadOnlyCollection<ulong> idHashes, CancellationToken cancellationToken = default);

    /// <summary>
    /// The same records as <see cref="ReadRecordsAsync"/>, as stored: their canonical encoding
    /// (<see cref="LogRecordCodec"/>), what replication ships, so repair sends them without decoding and re-encoding.
    /// </summary>
    IAsyncEnumerable<byte[]> ReadEncodedRecordsAsync(BucketKey bucket, IReadOnlyCollection<ulong> idHashes, CancellationToken cancellationToken = default);

    /// <summary>
    /// The digest (id hash, content hash) of every record of one bucket, or of those in the Merkle leaves
    /// (<see cref="MerkleLeaves.LeafOf"/>) that <paramref name="leafFilter"/> accepts. Sealed records come from their
    /// id index (no record is read); records of log segments are read to hash their content.
    /// </summary>
    IReadOnlyList<RecordDigest> GetDigests(BucketKey bucket, Func<int, bool>? leafFilter = null);

    /// <summary>
    /// Removes the records with these id hashes from one bucket (chaos "failing disk", repair tooling). Crash-safe: the
    /// bucket is rewritten to a new file that atomically replaces the old ones. Returns the digests of the records
    /// really removed.
    /// </summary>
    Task<IReadOnlyList<RecordDigest>> RemoveAsync(BucketKey bucket, IReadOnlyCollection<ulong> idHashes, CancellationToken cancellationToken = default);

    /// <summary>Drops one bucket whole (retention, data moved to new owners). False when it did not exist.</summary>
    Task<bool> DropBucketAsync(BucketKey bucket, CancellationToken cancellationToken = default);
}

/// <summary>Filters of a local query. Every filter is optional; all given ones must match.</summary>
public sealed record LogQuery
{
    /// <summary>Exactly this level.</summary>
    public LogSeverity? Level { get; init; }

    /// <summary>This level and above.</summary>
    public LogSeverity? MinLevel { get; init; }

    /// <summary>Exactly this source (ordinal).</summary>
    public string? Source { get; init; }

    /// <summary>Inclusive lower bound of the timestamp.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Exclusive upper bound of the timestamp.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Case-insensitive (ordinal ignore-case) substring of the message.</summary>
    public string? Contains { get; init; }

    /// <summary>Only these partition keys; null for all.</summary>
    public IReadOnlySet<string>? Partitions { get; init; }

    /// <summary>Most records returned; null for no limit.</summary>
    public int? Limit { get; init; }
}

/// <summary>What became of each record of an appended batch.</summary>
public enum AppendStatus : byte
{
    /// <summary>Stored now.</summary>
    Added = 0,

    /// <summary>A record with this id was already in its (partition, bucket), or earlier in the same batch.</summary>
    AlreadyPresent = 1,

    /// <summary>Its bucket is older than the retention: not stored.</summary>
    Expired = 2,
}

/// <summary>Outcome of <see cref="ILogStore.AppendAsync"/>; <see cref="Statuses"/> is parallel to the batch.</summary>
public sealed class AppendResult(AppendStatus[] statuses, int added, int alreadyPresent)
{
    public IReadOnlyList<AppendStatus> Statuses => statuses;

    public int Added => added;

    public int AlreadyPresent => alreadyPresent;

    public int Expired => statuses.Length - added - alreadyPresent;
}

/// <summary>A local (partition, bucket): <see cref="Sealed"/> when all its data sits in compressed, indexed segments.</summary>
public sealed record BucketInfo(string Partition, DateTimeOffset Bucket, long Records, long Bytes, bool Sealed, int Segments)
{
    public BucketKey Key => new(Partition, Bucket);
}

/// <summary>
/// What anti-entropy needs of a record: its id hash (<see cref="RecordIdHash"/>: where it sits in the Merkle tree, and
/// how replicas name it to each other) and its content hash (<see cref="LogRecordCodec.ComputeContentHash(ReadOnlySpan{byte})"/>).
/// </summary>
public readonly record struct RecordDigest(ulong IdHash, ulong ContentHash)
{
    /// <summary>The digest of the record with this id and content hash (tests and tools).</summary>
    public static RecordDigest Of(string id, ulong contentHash) => new(RecordIdHash.Of(id), contentHash);

    /// <summary>The digest of a record.</summary>
    public static RecordDigest Of(LogRecord record) => new(RecordIdHash.Of(record.Id), LogRecordCodec.ComputeContentHash(record));
}

/// <summary>Conveniences over <see cref="ILogStore"/>.</summary>
public static class LogStoreExtensions
{
    /// <summary>The records of one bucket with exactly these ids (looked up by id hash, then compared by id).</summary>
    public static async IAsyncEnumerable<LogRecord> ReadRecordsAsync(this ILogStore store, BucketKey bucket, IEnumerable<string> ids,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var wanted = new HashSet<string>(ids, StringComparer.Ordinal);
        await foreach (var record in store.ReadRecordsAsync(bucket, wanted.Select(RecordIdHash.Of).ToHashSet(), cancellationToken))
        {
            if (wanted.Contains(record.Id))
                yield return record;
        }
    }

    /// <summary>Removes the records with these ids (by id hash).</summary>
    public static Task<IReadOnlyList<RecordDigest>> RemoveAsync(this ILogStore store, BucketKey bucket, IEnumerable<string> ids,
        CancellationToken cancellationToken = default) =>
        store.RemoveAsync(bucket, ids.Select(RecordIdHash.Of).ToHashSet(), cancellationToken);
}
