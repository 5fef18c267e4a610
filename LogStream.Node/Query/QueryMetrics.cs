using System.Diagnostics;
using System.Diagnostics.Metrics;
using LogStream.Node.Diagnostics;
using LogStream.Node.Replication;

namespace LogStream.Node.Query;

/// <summary>Reads coordinated here: latency, hedged requests, read repair.</summary>
public sealed class QueryMetrics
{
    public static readonly ActivitySource ActivitySource = new(InstrumentNames.QueryActivitySource);

    private readonly Histogram<double> _duration;
    private readonly Counter<long> _repairs;
    private readonly Counter<long> _repairedRecords;
    private readonly Counter<long> _hedges;

    public QueryMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(InstrumentNames.QueryMeter);
        _duration = meter.CreateHistogram<double>(InstrumentNames.ReadDuration, "s",
            "Time to answer a cluster query, by consistency and outcome (ok, partial, failed).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ReplicationMetrics.LatencyBuckets });
        _repairs = meter.CreateCounter<long>(InstrumentNames.ReadRepairs, "{repair}",
            "Replicas found lacking records during a read and sent them (read repair).");
        _repairedRecords = meter.CreateCounter<long>(InstrumentNames.RecordsReadRepaired, "{record}",
            "Records pushed to replicas that lacked them, by read repair.");
        _hedges = meter.CreateCounter<long>(InstrumentNames.ReadHedges, "{request}",
            "Extra replicas asked because the ones asked first were slow or failed.");
    }

    public void Read(Consistency consistency, string outcome, TimeSpan duration) =>
        _duration.Record(duration.TotalSeconds, new("consistency", consistency.ToName()), new("outcome", outcome));

    private long _readRepairedTotal;

    /// <summary>Records pushed by read repair since start.</summary>
    public long ReadRepairedTotal => Interlocked.Read(ref _readRepairedTotal);

    public void Repaired(int records)
    {
        _repairs.Add(1);
        _repairedRecords.Add(records);
        Interlocked.Add(ref _readRepairedTotal, records);
    }

    public void Hedged() => _hedges.Add(1);
}
