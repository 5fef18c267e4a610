using LogStream.LoadGen.Measurement;

namespace LogStream.LoadGen.Tests;

public sealed class LatencyHistogramTests
{
    private static long NearestRank(long[] sorted, double percentile) =>
        sorted[Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * sorted.Length)) - 1];

    private static readonly double[] Percentiles = [0, 1, 25, 50, 75, 90, 99, 99.9, 99.99, 100];

    [Fact]
    public void PercentilesMatchTheNearestRankOfASortedArrayWithinOneFiveHundredTwelfth()
    {
        var random = new Random(1);
        // Log-normal-ish latencies from 50 µs to minutes: every region of the histogram is used.
        var values = Enumerable.Range(0, 200_000).Select(_ => (long)Math.Exp(4 + (random.NextDouble() * 14))).ToArray();
        var histogram = new LatencyHistogram();
        foreach (var v in values)
            histogram.Record(v);
        Array.Sort(values);

        foreach (var p in Percentiles)
        {
            var exact = NearestRank(values, p);
            var reported = histogram.ValueAtPercentile(p);
            Assert.True(reported >= exact && reported <= exact + (exact / 512) + 1, $"p{p}: reported {reported}, exact {exact}");
        }
    }

    [Fact]
    public void ValuesBelowOneMillisecondAreExact()
    {
        var random = new Random(2);
        var values = Enumerable.Range(0, 10_000).Select(_ => (long)random.Next(0, 1024)).ToArray();
        var histogram = new LatencyHistogram();
        foreach (var v in values)
            histogram.Record(v);
        Array.Sort(values);

        foreach (var p in Percentiles)
            Assert.Equal(NearestRank(values, p), histogram.ValueAtPercentile(p));
    }

    [Fact]
    public void MinMaxMeanAndCountAreExact()
    {
        var histogram = new LatencyHistogram();
        foreach (var v in new long[] { 1_234_567, 3, 99_999, 1_000_001 })
            histogram.Record(v);

        Assert.Equal(4, histogram.Count);
        Assert.Equal(3, histogram.Min);
        Assert.Equal(1_234_567, histogram.Max);
        Assert.Equal(1_234_567, histogram.ValueAtPercentile(100));
        Assert.Equal((1_234_567 + 3 + 99_999 + 1_000_001) / 4.0, histogram.Mean);
    }

    [Fact]
    public void TheTopPercentileNeverExceedsTheMaximumEvenInsideAWideBucket()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1_000_000_001); // its bucket is ~2 ms wide

        Assert.Equal(1_000_000_001, histogram.ValueAtPercentile(50));
        Assert.Equal(1_000_000_001, histogram.ValueAtPercentile(99.9));
    }

    [Fact]
    public void AMergedHistogramEqualsOneThatRecordedEverything()
    {
        var random = new Random(3);
        var all = new LatencyHistogram();
        var parts = new[] { new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram() };
        for (var i = 0; i < 30_000; i++)
        {
            var v = (long)Math.Exp(random.NextDouble() * 16);
            all.Record(v);
            parts[i % 3].Record(v);
        }

        var merged = new LatencyHistogram();
        merged.Add(new LatencyHistogram()); // an empty one changes nothing
        foreach (var part in parts)
            merged.Add(part);

        Assert.Equal(all.Count, merged.Count);
        Assert.Equal(all.Min, merged.Min);
        Assert.Equal(all.Max, merged.Max);
        Assert.Equal(all.Mean, merged.Mean, 6);
        foreach (var p in Percentiles)
            Assert.Equal(all.ValueAtPercentile(p), merged.ValueAtPercentile(p));
    }

    [Fact]
    public void AnEmptyHistogramReportsZeros()
    {
        var histogram = new LatencyHistogram();

        Assert.Equal(0, histogram.Count);
        Assert.Equal(0, histogram.ValueAtPercentile(99));
        Assert.Equal(0, histogram.Mean);
    }

    [Fact]
    public void NegativeAndHugeValuesAreClampedNotLost()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(-5);
        histogram.Record(long.MaxValue / 2);

        Assert.Equal(2, histogram.Count);
        Assert.Equal(0, histogram.ValueAtPercentile(50));
        Assert.Equal(long.MaxValue / 2, histogram.ValueAtPercentile(100));
    }

    [Fact]
    public void BucketsTileTheValueRangeWithoutGapsOrOverlaps()
    {
        for (long v = 0; v < 1L << 22; v += 1 + (v >> 12))
        {
            var index = LatencyHistogram.IndexOf(v);
            Assert.True(LatencyHistogram.HighestValueIn(index) >= v, $"value {v} lies above its bucket {index}");
            if (index > 0)
                Assert.True(LatencyHistogram.HighestValueIn(index - 1) < v, $"value {v} also fits the bucket below {index}");
        }
    }
}
