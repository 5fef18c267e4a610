using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LogStream.Web.Cluster;
using LogStream.Web.Diagnostics;
using Microsoft.Extensions.Options;

namespace LogStream.Web.Demo;

/// <summary>
/// Run Demo: writes a fresh batch of realistic logs through a node's public API at the configured consistency (QUORUM),
/// then, where chaos is enabled, makes one up replica really lose a fraction of its local records, so the nodes'
/// anti-entropy rounds have real work. Coordinators and victims rotate over the up members from run to run.
/// </summary>
public sealed partial class DemoRunner(
    ClusterClient clusterClient,
    NodeClient nodeClient,
    DashboardMetrics metrics,
    IOptions<DemoOptions> demoOptions,
    IOptions<ChaosOptions> chaosOptions,
    IOptions<DashboardOptions> dashboardOptions,
    TimeProvider timeProvider,
    ILogger<DemoRunner> logger)
{
    private int _runs;

    public async Task<DemoResult> RunAsync(CancellationToken cancellationToken)
    {
        using var activity = DashboardMetrics.DemoActivitySource.StartActivity("demo.run");
        var started = timeProvider.GetTimestamp();
        var options = demoOptions.Value;
        var chaos = chaosOptions.Value;
        var run = Interlocked.Increment(ref _runs);
        var now = timeProvider.GetUtcNow();
        var runId = $"demo-{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture)}-{Random.Shared.Next(0x10000):x4}";
        activity?.SetTag("logstream.demo.run_id", runId);

        var cluster = await clusterClient.GetClusterAsync(cancellationToken);
        var up = cluster.Cluster?.Members.Where(m => m.State == "up").OrderBy(m => m.Id, StringComparer.Ordinal).ToList() ?? [];
        if (up.Count == 0)
        {
            metrics.DemoRan(false, 0, 0);
            var why = cluster.Cluster is null ? $"no node answers ({string.Join("; ", cluster.Errors)})" : "no member is up";
            activity?.SetStatus(ActivityStatusCode.Error, why);
            return DemoResult.Failed(runId, $"Nothing written: {why}.", timeProvider.GetElapsedTime(started));
        }

        var records = DemoGenerator.Generate(runId, options.Records, options.ErrorRate, now, options.Spread, seed: Random.Shared.Next());
        var write = await WriteAsync(records, up, run, options, cancellationToken);
        activity?.SetTag("logstream.demo.accepted", write.Accepted);
        activity?.SetTag("logstream.demo.coordinator", write.Coordinator);

        ChaosOutcome? loss = null;
        if (chaos.Enabled && chaos.LoseFraction > 0 && write.Accepted > 0)
        {
            // The victim is the member after this run's coordinator, so every node takes its turn.
            var victim = up[(run + 1) % up.Count];
            loss = await LoseAsync(victim, chaos.LoseFraction, cancellationToken);
            activity?.SetTag("logstream.demo.victim", victim.Id);
            activity?.SetTag("logstream.demo.removed", loss.Removed);
        }

        var ok = write.Accepted > 0;
        var errorsSent = records.Count(r => r.Level == "ERROR");
        metrics.DemoRan(ok, write.Accepted, loss?.Removed ?? 0);
        if (!ok)
            activity?.SetStatus(ActivityStatusCode.Error, "no batch accepted");
        LogDemoRan(runId, write.Accepted, records.Count, write.Coordinator, loss?.Node, loss?.Removed ?? 0);

        return new DemoResult(
            RunId: runId,
            Succeeded: ok,
            Consistency: options.Consistency,
            Coordinator: write.Coordinator,
            RecordsSent: records.Count,
            Accepted: write.Accepted,
            ErrorRecords: errorsSent,
            Sources: records.Select(r => r.Source).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
            Partitions: write.Partitions,
            WriteFailures: write.Failures,
            Chaos: loss ?? new ChaosOutcome(chaos.Enabled, null, 0, 0, 0, chaos.Enabled ? "nothing written, nothing lost" : "chaos is disabled (LogStream:Chaos:Enabled)"),
            DurationMs: Math.Round(timeProvider.GetElapsedTime(started).TotalMilliseconds),
            Summary: Summarize(records.Count, write, errorsSent, options.Consistency, loss));
    }

    private async Task<WriteOutcome> WriteAsync(IReadOnlyList<DemoRecord> records, IReadOnlyList<MemberInfo> up, int run,
        DemoOptions options, CancellationToken cancellationToken)
    {
        var accepted = 0;
        var partitions = new HashSet<string>(StringComparer.Ordinal);
        var failures = new List<string>();
        string? coordinator = null;
        foreach (var chunk in records.Chunk(options.BatchRecords))
        {
            var json = DemoGenerator.ToJson(chunk);
            // This run's coordinator first; on failure the other up members, so one node down does not stop the demo.
            for (var attempt = 0; attempt < up.Count; attempt++)
            {
                var member = up[(run + attempt) % up.Count];
                var answer = await nodeClient.PostJsonAsync(member.Id, member.Address, $"/api/logs?consistency={options.Consistency}", json,
                    dashboardOptions.Value.WriteTimeout, cancellationToken);
                if (answer is { Succeeded: true, Body: { } body })
                {
                    coordinator ??= member.Id;
                    accepted += body.TryGetProperty("accepted", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetInt32() : chunk.Length;
                    if (body.TryGetProperty("partitions", out var list) && list.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var p in list.EnumerateArray())
                        {
                            if (p.TryGetProperty("partition", out var name) && name.GetString() is { } n)
                                partitions.Add(n);
                        }
                    }
                    break;
                }
                failures.Add($"{member.Id}: {answer.Error}");
            }
        }
        return new WriteOutcome(coordinator, accepted, partitions.Order(StringComparer.Ordinal).ToList(), failures);
    }

    private async Task<ChaosOutcome> LoseAsync(MemberInfo victim, double fraction, CancellationToken cancellationToken)
    {
        var path = $"/api/chaos/lose?fraction={fraction.ToString(CultureInfo.InvariantCulture)}";
        var answer = await nodeClient.PostAsync(victim.Id, victim.Address, path, dashboardOptions.Value.WriteTimeout, cancellationToken);
        metrics.ChaosRequested(answer.Succeeded);
        if (answer is { Succeeded: true, Body: { } body })
        {
            var removed = body.TryGetProperty("removed", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetInt64() : 0;
            var buckets = body.TryGetProperty("buckets", out var b) && b.ValueKind == JsonValueKind.Number ? b.GetInt64() : 0;
            return new ChaosOutcome(true, victim.Id, fraction, removed, buckets, null);
        }
        var error = answer.Status == 404
            ? $"{victim.Id} has chaos disabled or no chaos API (POST /api/chaos/lose answered 404)"
            : answer.Error;
        return new ChaosOutcome(true, victim.Id, fraction, 0, 0, error);
    }

    private static string Summarize(int sent, WriteOutcome write, int errors, string consistency, ChaosOutcome? loss)
    {
        var text = write.Accepted > 0
            ? $"Wrote {write.Accepted} of {sent} records ({errors} ERROR) through {write.Coordinator} at {consistency} into {write.Partitions.Count} partitions."
            : $"No record was accepted: {string.Join("; ", write.Failures.Take(3))}.";
        if (loss is { Node: not null, Error: null })
        {
            text += $" {loss.Node} lost {loss.Removed} records ({loss.Fraction:P0} of its local copy, {loss.Buckets} buckets): " +
                    "anti-entropy repairs them within its next rounds (or press Repair now).";
        }
        else if (loss?.Error is { } error)
        {
            text += $" No records lost: {error}.";
        }
        return text;
    }

    private sealed record WriteOutcome(string? Coordinator, int Accepted, IReadOnlyList<string> Partitions, IReadOnlyList<string> Failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo {RunId}: {Accepted}/{Sent} records accepted through {Coordinator}; {Victim} lost {Removed}")]
    private partial void LogDemoRan(string runId, int accepted, int sent, string? coordinator, string? victim, long removed);
}

/// <summary>What one Run Demo did (the JSON of <c>POST /api/demo/run</c>).</summary>
public sealed record DemoResult(
    string RunId,
    bool Succeeded,
    string Consistency,
    string? Coordinator,
    int RecordsSent,
    int Accepted,
    int ErrorRecords,
    IReadOnlyList<string> Sources,
    IReadOnlyList<string> Partitions,
    IReadOnlyList<string> WriteFailures,
    ChaosOutcome Chaos,
    double DurationMs,
    string Summary)
{
    public static DemoResult Failed(string runId, string why, TimeSpan duration) =>
        new(runId, false, "", null, 0, 0, 0, [], [], [why], new ChaosOutcome(false, null, 0, 0, 0, "nothing written"), Math.Round(duration.TotalMilliseconds), why);
}

/// <summary>The loss the demo caused: which node, what fraction, how many records and buckets; or why none.</summary>
public sealed record ChaosOutcome(bool Enabled, string? Node, double Fraction, long Removed, long Buckets, string? Error);
