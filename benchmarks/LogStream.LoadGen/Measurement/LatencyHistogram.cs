using System.Numerics;

namespace LogStream.LoadGen.Measurement;

/// <summary>
/// A log-linear latency histogram in the spirit of HdrHistogram, in microseconds: exact below 1 024 µs, and above that
/// 512 linear sub-buckets per power of two, so a reported percentile is at most 1/512 (0.2 %) above the true value.
/// Fixed size (16 384 counters, 128 KiB) whatever the number of samples. Not thread-safe: give every sender its own
/// and <see cref="Add"/> them at the end, which costs nothing on the hot path.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 9;
    private const int SubBucketCount = 1 << SubBucketBits; // 512
    private const int ExactLimit = SubBucketCount * 2; // 1 024: values below are their own bucket

    /// <summary>Values of 2^40 µs (12.7 days) and more are counted in the top bucket.</summary>
    private const int MaxExponent = 40;

    private readonly long[] _counts = new long[ExactLimit + ((MaxExponent - SubBucketBits - 1) * SubBucketCount)];

    public long Count { get; private set; }

    /// <summary>Smallest recorded value, exact; 0 when empty.</summary>
    public long Min { get; private set; }

    /// <summary>Largest recorded value, exact; 0 when empty.</summary>
    public long Max { get; private set; }

    public double Mean => Count == 0 ? 0 : (double)_sum / Count;

    private long _sum;

    public void Record(long microseconds)
    {
        if (microseconds < 0)
            microseconds = 0;
        _counts[IndexOf(microseconds)]++;
        if (Count == 0 || microseconds < Min)
            Min = microseconds;
        if (microseconds > Max)
            Max = microseconds;
        Count++;
        _sum += microseconds;
    }

    public void Record(TimeSpan elapsed) => Record(elapsed.Ticks / (TimeSpan.TicksPerMillisecond / 1000));

    public void Add(LatencyHistogram other)
    {
        if (other.Count == 0)
            return;
        for (var i = 0; i < _counts.Length; i++)
            _counts[i] += other._counts[i];
        Min = Count == 0 ? other.Min : Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        Count += other.Count;
        _sum += other._sum;
    }

    /// <summary>
    /// The nearest-rank percentile (the smallest recorded value such that at least <paramref name="percentile"/> % of
    /// the samples are at or below it), reported as the highest value of its bucket, never above the exact maximum.
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(percentile);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100.0);
        if (Count == 0)
            return 0;
        var rank = Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * Count));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
                return i == _counts.Length - 1 ? Max : Math.Min(HighestValueIn(i), Max); // the top bucket is open-ended
        }

        return Max;
    }

    internal static int IndexOf(long value)
    {
        if (value < ExactLimit)
            return (int)value;
        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)value);
        if (exponent >= MaxExponent)
            return ExactLimit + ((MaxExponent - SubBucketBits - 1) * SubBucketCount) - 1;
        var shift = exponent - SubBucketBits;
        var sub = (int)(value >> shift) - SubBucketCount;
        return ExactLimit + ((exponent - SubBucketBits - 1) * SubBucketCount) + sub;
    }

    internal static long HighestValueIn(int index)
    {
        if (index < ExactLimit)
            return index;
        var offset = index - ExactLimit;
        var exponent = (offset / SubBucketCount) + SubBucketBits + 1;
        var sub = offset % SubBucketCount;
        var shift = exponent - SubBucketBits;
        var lowest = (long)(sub + SubBucketCount) << shift;
        return lowest + (1L << shift) - 1;
    }
}
