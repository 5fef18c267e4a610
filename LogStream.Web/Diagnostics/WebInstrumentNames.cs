namespace LogStream.Web.Diagnostics;

/// <summary>
/// Every meter, instrument and activity-source name of the web dashboard, in one place. They start with
/// <c>LogStream.</c>, so the service defaults export them (OTLP to the Aspire dashboard).
/// </summary>
public static class WebInstrumentNames
{
    public const string Meter = "LogStream.Web";

    public const string SnapshotRefreshes = "logstream.web.snapshot.refreshes";
    public const string SnapshotDuration = "logstream.web.snapshot.duration";
    public const string SnapshotAge = "logstream.web.snapshot.age";
    public const string NodePolls = "logstream.web.node.polls";
    public const string DemoRuns = "logstream.web.demo.runs";
    public const string DemoRecordsSent = "logstream.web.demo.records_sent";
    public const string DemoRecordsLost = "logstream.web.demo.records_lost";
    public const string RepairRequests = "logstream.web.repair.requests";
    public const string ChaosRequests = "logstream.web.chaos.requests";

    public const string DemoActivitySource = "LogStream.Web.Demo";
    public const string ActionsActivitySource = "LogStream.Web.Actions";
}
