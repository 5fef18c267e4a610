using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LogStream.Node.Diagnostics;

namespace LogStream.Node.Repair;

/// <summary>Honest repair figures: a repair is completed only when records were shipped and the roots agree afterwards.</summary>
public sealed class RepairMetrics
{
    public static readonly ActivitySource ActivitySource = new(InstrumentNames.RepairActivitySource);

    private readonly Counter<long> _comparisons;
    private readonly Counter<long> _mismatches;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _records;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _conflicts;
    private readonly Histogram<double> _duration;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastRepair = new(StringComparer.Ordinal);
    private long _completedTotal;
    private long _recordsTotal;

    public RepairMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(InstrumentNames.RepairMeter);
        _comparisons = meter.CreateCounter<long>(InstrumentNames.RepairComparisons, "{bucket}",
            "(partition, bucket) roots compared with a peer.");
        _mismatches = meter.CreateCounter<long>(InstrumentNames.RepairMismatches, "{bucket}",
            "Comparisons whose roots differed.");
        _completed = meter.CreateCounter<long>(InstrumentNames.RepairsCompleted, "{repair}",
            "Bucket repairs with a peer that shipped records and left both roots equal.");
        _records = meter.CreateCounter<long>(InstrumentNames.RecordsRepaired, "{record}",
            "Records shipped by anti-entropy, by direction (sent to the peer, received from it).");
        _bytes = meter.CreateCounter<long>(InstrumentNames.RepairBytes, "By",
            "Bytes anti-entropy exchanged, by kind (records, tree: roots, nodes and digests).");
        _conflicts = meter.CreateCounter<long>(InstrumentNames.RepairConflicts, "{record}",
            "Records whose id matched a peer's but whose content did not (left alone, reported).");
        _duration = meter.CreateHistogram<double>(InstrumentNames.RepairDuration, "s",
            "Duration of one bucket's repair with one peer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        meter.CreateObservableGauge(InstrumentNames.RepairLastSuccess, LastRepairs, "s",
            "Unix time of the last completed repair with each peer.");
    }

    public long CompletedTotal => Interlocked.Read(ref _completedTotal);

    public long RecordsTotal => Interlocked.Read(ref _recordsTotal);

    public DateTimeOffset? LastRepair => _lastRepair.IsEmpty ? null : _lastRepair.Values.Max();

    public void Compared(int buckets, int differing)
    {
        _comparisons.Add(buckets);
        _mismatches.Add(differing);
    }

    public void Shipped(long sent, long received)
    {
        if (sent > 0)
            _records.Add(sent, new KeyValuePair<string, object?>("direction", "sent"));
        if (received > 0)
            _records.Add(received, new KeyValuePair<string, object?>("direction", "received"));
        Interlocked.Add(ref _recordsTotal, sent + received);
    }

    public void Bytes(string kind, long bytes)
    {
        if (bytes > 0)
            _bytes.Add(bytes, new KeyValuePair<string, object?>("kind", kind));
    }

    public void Conflicts(int count)
    {
        if (count > 0)
            _conflicts.Add(count);
    }

    public void Completed(string peer, DateTimeOffset at, TimeSpan duration)
    {
        _completed.Add(1, new KeyValuePair<string, object?>("peer", peer));
        Interlocked.Increment(ref _completedTotal);
        _lastRepair[peer] = at;
        _duration.Record(duration.TotalSeconds);
    }

    public void Attempted(TimeSpan duration) => _duration.Record(duration.TotalSeconds);

    private IEnumerable<Measurement<double>> LastRepairs() =>
        _lastRepair.Select(p => new Measurement<double>(p.Value.ToUnixTimeMilliseconds() / 1000.0, new KeyValuePair<string, object?>("peer", p.Key)));
}
