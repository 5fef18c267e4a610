using System.Diagnostics;
using System.Diagnostics.Metrics;
using LogStream.Node.Diagnostics;

namespace LogStream.Node.Replication;

/// <summary>Writes coordinated here, quorum failures, and calls to peers.</summary>
public sealed class ReplicationMetrics
{
    public static readonly ActivitySource ActivitySource = new(InstrumentNames.ReplicationActivitySource);

    private readonly Counter<long> _ingested;
    private readonly Counter<long> _quorumFailures;
    private readonly Histogram<double> _writeDuration;
    private readonly Counter<long> _replicaRequests;
    private readonly Histogram<double> _replicaDuration;
    private readonly Counter<long> _recordsReceived;

    public ReplicationMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(InstrumentNames.ReplicationMeter);
        _ingested = meter.CreateCounter<long>(InstrumentNames.RecordsIngested, "{record}",
            "Records this node accepted as coordinator at the requested consistency (write quorum reached).");
        _quorumFailures = meter.CreateCounter<long>(InstrumentNames.QuorumFailures, "{request}",
            "Requests that could not reach their write (W) or read (R) quorum, by operation.");
        _writeDuration = meter.CreateHistogram<double>(InstrumentNames.WriteDuration, "s",
            "Time from receiving a batch to reaching its write quorum, by consistency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _replicaRequests = meter.CreateCounter<long>(InstrumentNames.ReplicaRequests, "{request}",
            "Calls to peer replicas, by operation, peer and outcome (ok, failed, down, circuit_open).");
        _replicaDuration = meter.CreateHistogram<double>(InstrumentNames.ReplicaRequestDuration, "s",
            "Duration of calls to peer replicas, by operation.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _recordsReceived = meter.CreateCounter<long>(InstrumentNames.ReplicaRecordsReceived, "{record}",
            "Records newly stored here on a peer's request, by kind (write, handoff).");
        // Exported at 0 from the start: Prometheus' rate() and increase() do not count a series' first sample, so a
        // counter that appeared with the first batch would hide that batch from the dashboard.
        _ingested.Add(0);
    }

    /// <summary>0.5 ms … 10 s: quorum writes on one machine take about a millisecond.</summary>
    internal static readonly double[] LatencyBuckets =
        [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2.5, 5, 10];

    private long _ingestedTotal;
    private long _quorumFailuresTotal;

    /// <summary>Records accepted as coordinator since start (what <c>logstream_records_ingested_total</c> counts).</summary>
    public long IngestedTotal => Interlocked.Read(ref _ingestedTotal);

    public long QuorumFailuresTotal => Interlocked.Read(ref _quorumFailuresTotal);

    public void Ingested(int records, Consistency consistency, TimeSpan duration)
    {
        _ingested.Add(records);
        Interlocked.Add(ref _ingestedTotal, records);
        _writeDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("consistency", consistency.ToName()));
    }

    public void QuorumFailed(string operation, Consistency consistency)
    {
        _quorumFailures.Add(1, new("operation", operation), new("consistency", consistency.ToName()));
        Interlocked.Increment(ref _quorumFailuresTotal);
    }

    public void ReplicaCall(string operation, string peer, string outcome, TimeSpan duration)
    {
        _replicaRequests.Add(1, new("operation", operation), new("peer", peer), new("outcome", outcome));
        _replicaDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("operation", operation));
    }

    public void ReplicaAppended(int added, bool handoff) =>
        _recordsReceived.Add(added, new KeyValuePair<string, object?>("kind", handoff ? "handoff" : "write"));
}
