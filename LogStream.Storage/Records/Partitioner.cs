using System.Collections.Concurrent;
using System.Globalization;

namespace LogStream.Storage;

/// <summary>How records are split into partitions (DESIGN §3). Every node of a cluster must use the same one.</summary>
public enum PartitioningStrategy
{
    /// <summary>One partition per source: <c>source:{source}</c>.</summary>
    Source = 0,

    /// <summary>One partition per time bucket: <c>time:{bucket}</c>.</summary>
    Time = 1,

    /// <summary>One partition per source and time bucket: <c>source+time:{bucket}/{source}</c>.</summary>
    SourceAndTime = 2,
}

/// <summary>A local unit of storage, retention and repair: one time bucket of one partition.</summary>
/// <param name="Partition">The partition key (what the ring hashes for placement).</param>
/// <param name="Bucket">Start of the time bucket, UTC; the bucket covers [Bucket, Bucket + width).</param>
public readonly record struct BucketKey(string Partition, DateTimeOffset Bucket)
{
    public override string ToString() => $"{Partition} @ {Partitioner.FormatBucket(Bucket)}";
}

/// <summary>
/// Pure mapping of a record to its partition key and time bucket. Buckets are aligned to the Unix epoch:
/// <c>bucket = floor(timestamp / width) * width</c>. Partition key forms (exact, part of the cluster contract):
/// <list type="bullet">
/// <item><c>source</c>: <c>source:checkout</c></item>
/// <item><c>time</c>: <c>time:2026-11-26T15:00Z</c> (the bucket start, UTC, minute precision)</item>
/// <item><c>source+time</c>: <c>source+time:2026-11-26T15:00Z/checkout</c> (time first: it has a fixed width, so the
/// source may hold any character)</item>
/// </list>
/// Storage inside every partition is further split by time bucket, whatever the strategy.
/// </summary>
public sealed class Partitioner
{
    public const string SourcePrefix = "source:";
    public const string TimePrefix = "time:";
    public const string SourceAndTimePrefix = "source+time:";
    private const string BucketFormat = "yyyy-MM-dd'T'HH:mm'Z'";
    private const int CacheLimit = 16_384;

    private readonly long _widthTicks;
    private readonly ConcurrentDictionary<(string Source, long Bucket), string> _keys = new();

    public Partitioner(PartitioningStrategy strategy, TimeSpan bucketWidth)
    {
        if (bucketWidth < TimeSpan.FromMinutes(1) || bucketWidth.Ticks % TimeSpan.TicksPerMinute != 0)
            throw new ArgumentOutOfRangeException(nameof(bucketWidth), bucketWidth, "The bucket width must be a whole number of minutes, at least one.");
        if (!Enum.IsDefined(strategy))
            throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Unknown partitioning strategy.");
        Strategy = strategy;
        BucketWidth = bucketWidth;
        _widthTicks = bucketWidth.Ticks;
    }

    public PartitioningStrategy Strategy { get; }

    public TimeSpan BucketWidth { get; }

    /// <summary>Start of the bucket that holds <paramref name="timestamp"/>.</summary>
    public DateTimeOffset BucketOf(DateTimeOffset timestamp) =>
        new(BucketTicksOf(timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) + DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.Zero);

    /// <summary>Bucket start as Unix ticks, for a timestamp in Unix ticks (floor, also before 1970).</summary>
    public long BucketTicksOf(long unixTicks)
    {
        var remainder = unixTicks % _widthTicks;
        return remainder < 0 ? unixTicks - remainder - _widthTicks : unixTicks - remainder;
    }

    /// <summary>Partition key and bucket of a record.</summary>
    public BucketKey Place(LogRecord record) => Place(record.Source, record.UnixTicks);

    /// <summary>Partition key and bucket of a record with this source and timestamp (Unix ticks).</summary>
    public BucketKey Place(string source, long unixTicks)
    {
        var bucketTicks = BucketTicksOf(unixTicks);
        return new BucketKey(PartitionKey(source, bucketTicks), UnixTicks.ToDateTimeOffset(bucketTicks));
    }

    /// <summary>The partition key of a record with this source and timestamp.</summary>
    public string PartitionKeyOf(string source, DateTimeOffset timestamp) =>
        PartitionKey(source, BucketTicksOf(timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks));

    private string PartitionKey(string source, long bucketTicks)
    {
        var cacheKey = Strategy switch
        {
            PartitioningStrategy.Source => (source, 0L),
            PartitioningStrategy.Time => ("", bucketTicks),
            _ => (source, bucketTicks),
        };
        if (_keys.TryGetValue(cacheKey, out var key))
            return key;
        key = Strategy switch
        {
            PartitioningStrategy.Source => SourcePrefix + source,
            PartitioningStrategy.Time => TimePrefix + FormatBucket(UnixTicks.ToDateTimeOffset(bucketTicks)),
            _ => SourceAndTimePrefix + FormatBucket(UnixTicks.ToDateTimeOffset(bucketTicks)) + "/" + source,
        };
        if (_keys.Count >= CacheLimit)
            _keys.Clear();
        _keys.TryAdd(cacheKey, key);
        return key;
    }

    /// <summary>The source a partition key names, when its strategy puts one in it.</summary>
    public static string? SourceOfPartition(string partitionKey)
    {
        if (partitionKey.StartsWith(SourcePrefix, StringComparison.Ordinal))
            return partitionKey[SourcePrefix.Length..];
        if (partitionKey.StartsWith(SourceAndTimePrefix, StringComparison.Ordinal))
        {
            var slash = partitionKey.IndexOf('/', SourceAndTimePrefix.Length);
            return slash < 0 ? null : partitionKey[(slash + 1)..];
        }
        return null;
    }

    /// <summary>Bucket start as written in the key (<c>2026-11-26T15:00Z</c>), minute precision.</summary>
    public static string FormatBucket(DateTimeOffset bucket) => bucket.UtcDateTime.ToString(BucketFormat, CultureInfo.InvariantCulture);
}
