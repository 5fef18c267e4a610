using LogStream.Storage;

namespace LogStream.Node.Repair;

/// <summary>What a chaos action did.</summary>
/// <param name="RecordsBefore">Local records before the loss.</param>
public sealed record ChaosLoss(long Removed, int Buckets, long RecordsBefore);

/// <summary>
/// The failing disk of the demo and the tests: this node really deletes a random sample of its local records
/// (through the store, so the Merkle trees see it), leaving the divergence anti-entropy must repair.
/// </summary>
public sealed partial class Chaos(ILogStore store, Partitioner partitioner, ILogger<Chaos> logger)
{
    /// <param name="fraction">Share of each bucket's records to delete, in (0, 1].</param>
    /// <param name="endedBy">
    /// Only the buckets whose time window ended at or before this instant (settled data, as a disk failing under old
    /// files would lose); null for every bucket. Leaving the buckets being written alone also makes the loss cheap:
    /// deleting from a bucket rewrites it.
    /// </param>
    public async Task<ChaosLoss> LoseAsync(double fraction, DateTimeOffset? endedBy, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fraction);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fraction, 1.0);
        long removed = 0, before = 0;
        var buckets = 0;
        foreach (var bucket in store.ListBuckets())
        {
            if (endedBy is { } end && bucket.Bucket + partitioner.BucketWidth > end)
                continue;
            var digests = store.GetDigests(bucket.Key);
            before += digests.Count;
            var count = (int)Math.Round(digests.Count * fraction);
            if (count == 0)
                continue;
            var idHashes = digests.Select(d => d.IdHash).ToArray();
            Random.Shared.Shuffle(idHashes);
            removed += (await store.RemoveAsync(bucket.Key, idHashes[..count], cancellationToken)).Count;
            buckets++;
        }
        LogLost(removed, before, buckets);
        return new ChaosLoss(removed, buckets, before);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chaos: deleted {Removed} of {Before} local records in {Buckets} buckets, as a failing disk would")]
    private partial void LogLost(long removed, long before, int buckets);
}
