using System.Diagnostics;
using System.Diagnostics.Metrics;
using LogStream.Web.Snapshot;

namespace LogStream.Web.Diagnostics;

/// <summary>The dashboard's own telemetry: refreshes, node polls, demo runs, repair and chaos requests.</summary>
public sealed class DashboardMetrics
{
    public static readonly ActivitySource DemoActivitySource = new(WebInstrumentNames.DemoActivitySource);
    public static readonly ActivitySource ActionsActivitySource = new(WebInstrumentNames.ActionsActivitySource);

    private readonly Counter<long> _refreshes;
    private readonly Histogram<double> _refreshDuration;
    private readonly Counter<long> _nodePolls;
    private readonly Counter<long> _demoRuns;
    private readonly Counter<long> _demoRecordsSent;
    private readonly Counter<long> _demoRecordsLost;
    private readonly Counter<long> _repairRequests;
    private readonly Counter<long> _chaosRequests;
    private readonly TimeProvider _timeProvider;
    private DateTimeOffset _lastRefresh = DateTimeOffset.MinValue;

    public DashboardMetrics(IMeterFactory meterFactory, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        var meter = meterFactory.Create(WebInstrumentNames.Meter);
        _refreshes = meter.CreateCounter<long>(WebInstrumentNames.SnapshotRefreshes, "{refresh}",
            "Snapshot refreshes, by outcome (fresh: every node answered; stale: some figures are old).");
        _refreshDuration = meter.CreateHistogram<double>(WebInstrumentNames.SnapshotDuration, "s",
            "Duration of one snapshot refresh (cluster view, every node's /api/node, sometimes the ERROR count).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        meter.CreateObservableGauge(WebInstrumentNames.SnapshotAge, ObserveAge, "s",
            "Seconds since the last snapshot refresh (about 1 while healthy).");
        _nodePolls = meter.CreateCounter<long>(WebInstrumentNames.NodePolls, "{request}",
            "Calls to a node's /api/node, by node and outcome (ok, failed).");
        _demoRuns = meter.CreateCounter<long>(WebInstrumentNames.DemoRuns, "{run}", "Run Demo clicks, by outcome (ok, failed).");
        _demoRecordsSent = meter.CreateCounter<long>(WebInstrumentNames.DemoRecordsSent, "{record}", "Records the demo wrote and the cluster accepted.");
        _demoRecordsLost = meter.CreateCounter<long>(WebInstrumentNames.DemoRecordsLost, "{record}", "Records the demo made a node lose (chaos).");
        _repairRequests = meter.CreateCounter<long>(WebInstrumentNames.RepairRequests, "{request}", "Repair now requests sent to nodes, by outcome.");
        _chaosRequests = meter.CreateCounter<long>(WebInstrumentNames.ChaosRequests, "{request}", "Chaos actions sent to nodes, by outcome.");
    }

    public void Refreshed(DashboardSnapshot snapshot, TimeSpan duration)
    {
        _lastRefresh = snapshot.LastUpdate;
        _refreshes.Add(1, new KeyValuePair<string, object?>("outcome", snapshot.Stale ? "stale" : "fresh"));
        _refreshDuration.Record(duration.TotalSeconds);
    }

    public void NodePolled(string node, bool ok) =>
        _nodePolls.Add(1, new("node", node), new("outcome", ok ? "ok" : "failed"));

    public void DemoRan(bool ok, long recordsSent, long recordsLost)
    {
        _demoRuns.Add(1, new KeyValuePair<string, object?>("outcome", ok ? "ok" : "failed"));
        if (recordsSent > 0)
            _demoRecordsSent.Add(recordsSent);
        if (recordsLost > 0)
            _demoRecordsLost.Add(recordsLost);
    }

    public void RepairRequested(bool ok) => _repairRequests.Add(1, new KeyValuePair<string, object?>("outcome", ok ? "ok" : "failed"));

    public void ChaosRequested(bool ok) => _chaosRequests.Add(1, new KeyValuePair<string, object?>("outcome", ok ? "ok" : "failed"));

    private double ObserveAge() =>
        _lastRefresh == DateTimeOffset.MinValue ? 0 : Math.Max(0, (_timeProvider.GetUtcNow() - _lastRefresh).TotalSeconds);
}
