using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LogStream.LoadGen.Tests;

/// <summary>A record as the fake stores it.</summary>
public sealed record FakeRecord(string Id, DateTimeOffset Timestamp, string Level, string Source, string Message, JsonElement? Attributes);

/// <summary>
/// An in-memory stand-in for a LogStream cluster's public API (DESIGN §9), for the load generator's own tests only:
/// one Kestrel app on several loopback ports (the "coordinators"), one shared store. <c>POST /api/logs</c> takes a
/// JSON array or NDJSON, validates the whole batch first and answers <c>{accepted, ids}</c>; <c>GET /api/logs</c>
/// filters by level, min_level, source, from (inclusive), to (exclusive unless <see cref="ToInclusive"/>), contains,
/// and returns the newest first, at most <c>limit</c> (capped at <see cref="MaxLimit"/>). Knobs make it misbehave.
/// </summary>
public sealed class FakeLogStreamCluster : IAsyncDisposable
{
    private static readonly string[] Levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

    private readonly ConcurrentDictionary<string, FakeRecord> _records = new(StringComparer.Ordinal);
    private readonly WebApplication _app;
    private int _failNextWrites;

    private FakeLogStreamCluster(WebApplication app, IReadOnlyList<Uri> nodes)
    {
        _app = app;
        Nodes = nodes;
    }

    public IReadOnlyList<Uri> Nodes { get; }

    /// <summary>The value of <c>--nodes</c> that reaches every coordinator.</summary>
    public string NodesArgument => string.Join(",", Nodes.Select(n => n.ToString().TrimEnd('/')));

    /// <summary>Records for which this returns true are acknowledged but not stored: a lost write.</summary>
    public Func<FakeRecord, bool>? DropWhen { get; set; }

    /// <summary>The largest number of records one GET returns, whatever limit it asks for.</summary>
    public int MaxLimit { get; set; } = int.MaxValue;

    /// <summary>Treat <c>to</c> as inclusive (the paging of --verify must work either way).</summary>
    public bool ToInclusive { get; set; }

    /// <summary>The next N writes get 503 (write quorum not met) and store nothing.</summary>
    public int FailNextWrites
    {
        get => Volatile.Read(ref _failNextWrites);
        set => Volatile.Write(ref _failNextWrites, value);
    }

    public ConcurrentDictionary<int, int> WritesByPort { get; } = new();

    public ConcurrentDictionary<string, int> WriteConsistencies { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> ContentTypes { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<string> Queries { get; } = new();

    public int WriteRequests;

    public ICollection<FakeRecord> Records => _records.Values;

    public static async Task<FakeLogStreamCluster> StartAsync(int coordinators = 3)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            for (var i = 0; i < coordinators; i++)
                kestrel.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        FakeLogStreamCluster? cluster = null;
        // Cast to Delegate: a lambda taking only HttpContext would otherwise bind as a RequestDelegate and drop the IResult.
        app.MapPost("/api/logs", (Delegate)((HttpContext context) => cluster!.WriteAsync(context)));
        app.MapGet("/api/logs", (Delegate)((HttpContext context) => cluster!.Read(context)));
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        cluster = new FakeLogStreamCluster(app, addresses.Select(a => new Uri(a)).OrderBy(u => u.Port).ToArray());
        return cluster;
    }

    private async Task<IResult> WriteAsync(HttpContext context)
    {
        Interlocked.Increment(ref WriteRequests);
        WritesByPort.AddOrUpdate(context.Connection.LocalPort, 1, (_, n) => n + 1);
        var consistency = context.Request.Query["consistency"].ToString();
        WriteConsistencies.AddOrUpdate(consistency, 1, (_, n) => n + 1);
        if (consistency is not ("" or "ONE" or "QUORUM" or "ALL"))
            return Problem(400, $"consistency '{consistency}' is not ONE, QUORUM or ALL");

        var contentType = context.Request.ContentType ?? "";
        ContentTypes.AddOrUpdate(contentType, 1, (_, n) => n + 1);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var bytes = body.ToArray();

        var elements = new List<JsonElement>();
        try
        {
            if (contentType.StartsWith("application/x-ndjson", StringComparison.Ordinal))
            {
                foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n'))
                {
                    if (line.Length > 0)
                        elements.Add(JsonDocument.Parse(line).RootElement.Clone());
                }
            }
            else if (contentType.StartsWith("application/json", StringComparison.Ordinal))
            {
                using var document = JsonDocument.Parse(bytes);
                if (document.RootElement.ValueKind != JsonValueKind.Array)
                    return Problem(400, "the body must be a JSON array of records");
                elements.AddRange(document.RootElement.EnumerateArray().Select(e => e.Clone()));
            }
            else
            {
                return Problem(415, $"unsupported content type '{contentType}'");
            }
        }
        catch (JsonException e)
        {
            return Problem(400, "malformed JSON: " + e.Message);
        }

        // Validate the whole batch before anything is written.
        var records = new List<FakeRecord>(elements.Count);
        for (var i = 0; i < elements.Count; i++)
        {
            var e = elements[i];
            string? Field(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var id = Field("id") ?? Guid.CreateVersion7().ToString();
            if (Field("timestamp") is not { } ts || !DateTimeOffset.TryParse(ts, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var timestamp))
                return Problem(400, $"record {i}: field 'timestamp' is missing or not RFC 3339");
            if (Field("level") is not { } level || Array.IndexOf(Levels, level) < 0)
                return Problem(400, $"record {i}: field 'level' is missing or unknown");
            if (Field("source") is not { Length: > 0 } source)
                return Problem(400, $"record {i}: field 'source' is missing");
            if (Field("message") is not { } message)
                return Problem(400, $"record {i}: field 'message' is missing");
            JsonElement? attributes = e.TryGetProperty("attributes", out var a) ? a : null;
            if (attributes is { ValueKind: not JsonValueKind.Object })
                return Problem(400, $"record {i}: field 'attributes' must be an object");
            records.Add(new FakeRecord(id, timestamp.ToUniversalTime(), level, source, message, attributes));
        }

        if (Interlocked.Decrement(ref _failNextWrites) >= 0)
            return Problem(503, "write quorum not met for partition 7 (replicas node-2, node-3 failed)");
        Interlocked.Increment(ref _failNextWrites); // back to zero: it never goes below -1 for long

        foreach (var record in records)
        {
            if (DropWhen?.Invoke(record) != true)
                _records.TryAdd(record.Id, record);
        }

        return Results.Json(new { accepted = records.Count, ids = records.Select(r => r.Id).ToArray(), acks = new { } });
    }

    private IResult Read(HttpContext context)
    {
        var q = context.Request.Query;
        Queries.Enqueue(context.Request.QueryString.Value ?? "");
        IEnumerable<FakeRecord> found = _records.Values;
        if (q["level"].ToString() is { Length: > 0 } level)
            found = found.Where(r => r.Level == level);
        if (q["min_level"].ToString() is { Length: > 0 } minLevel)
            found = found.Where(r => Array.IndexOf(Levels, r.Level) >= Array.IndexOf(Levels, minLevel));
        if (q["source"].ToString() is { Length: > 0 } source)
            found = found.Where(r => r.Source == source);
        if (q["contains"].ToString() is { Length: > 0 } contains)
            found = found.Where(r => r.Message.Contains(contains, StringComparison.Ordinal));
        if (q["from"].ToString() is { Length: > 0 } fromText)
        {
            if (!DateTimeOffset.TryParse(fromText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var from))
                return Problem(400, "query parameter 'from' is not RFC 3339");
            found = found.Where(r => r.Timestamp >= from);
        }

        if (q["to"].ToString() is { Length: > 0 } toText)
        {
            if (!DateTimeOffset.TryParse(toText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var to))
                return Problem(400, "query parameter 'to' is not RFC 3339");
            found = ToInclusive ? found.Where(r => r.Timestamp <= to) : found.Where(r => r.Timestamp < to);
        }

        var limit = q["limit"].ToString() is { Length: > 0 } limitText ? int.Parse(limitText, CultureInfo.InvariantCulture) : 100;
        var page = found.OrderByDescending(r => r.Timestamp).ThenByDescending(r => r.Id, StringComparer.Ordinal)
            .Take(Math.Min(limit, MaxLimit))
            .Select(r => new
            {
                id = r.Id,
                timestamp = r.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
                level = r.Level,
                source = r.Source,
                message = r.Message,
                attributes = r.Attributes,
            })
            .ToArray();
        var consistency = q["consistency"].ToString() is { Length: > 0 } c ? c : "QUORUM";
        return Results.Json(new { records = page, partial = false, incomplete_partitions = Array.Empty<string>(), consistency });
    }

    private static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
