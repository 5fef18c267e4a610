using LogStream.Node.Storage;

namespace LogStream.Node.Repair;

/// <summary>What a chaos action did.</summary>
/// <param name="RecordsBefore">Local records before the loss.</param>
public sealed record ChaosLoss(long Removed, int Buckets, long RecordsBefore);

/// <summary>
/// The failing disk of the demo and the tests: this node really deletes a random sample of its local records
/// (through the store, so the Merkle trees see it), leaving the divergence anti-entropy must repair.
/// </summary>
public sealed partial class Chaos(ILogStore store, ILogger<Chaos> logger)
{
    public async Task<ChaosLoss> LoseAsync(double fraction, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fraction);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fraction, 1.0);
        long removed = 0, before = 0;
        var buckets = 0;
        foreach (var bucket in store.ListBuckets())
        {
            var digests = store.GetDigests(bucket.Key);
            before += digests.Count;
            var count = (int)Math.Round(digests.Count * fraction);
            if (count == 0)
                continue;
            var ids = digests.Select(d => d.Id).ToArray();
            Random.Shared.Shuffle(ids);
            removed += (await store.RemoveAsync(bucket.Key, ids[..count], cancellationToken)).Count;
            buckets++;
        }
        LogLost(removed, before, buckets);
        return new ChaosLoss(removed, buckets, before);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chaos: deleted {Removed} of {Before} local records in {Buckets} buckets, as a failing disk would")]
    private partial void LogLost(long removed, long before, int buckets);
}
