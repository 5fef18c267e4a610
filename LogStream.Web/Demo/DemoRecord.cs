namespace LogStream.Web.Demo;

/// <summary>A log record as the demo sends it through the public API (<c>POST /api/logs</c>).</summary>
public sealed record DemoRecord(
    string Id,
    DateTimeOffset Timestamp,
    string Level,
    string Source,
    string Message,
    IReadOnlyDictionary<string, string> Attributes);
