using System.Globalization;
using System.Text;

namespace LogStream.LoadGen.Reporting;

/// <summary>The human-readable form of a <see cref="RunReport"/>: the same numbers as the JSON, as aligned tables.</summary>
public static class ReportTable
{
    private static readonly CultureInfo Ic = CultureInfo.InvariantCulture;

    public static string Render(RunReport report)
    {
        var text = new StringBuilder();
        var c = report.Config;
        text.AppendLine(Ic, $"LogStream.LoadGen  run {c.RunId}  seed {c.Seed}  {report.Machine.Cores} cores  {report.Machine.Runtime}");
        text.AppendLine(Ic, $"  nodes {string.Join(", ", c.Nodes)}");
        text.AppendLine(Ic, $"  {c.Consistency}  {c.Format}  batch {c.Batch}  concurrency {c.Concurrency}  {c.Sources} sources  error rate {c.ErrorRate}  " +
            $"{(c.DurationS is { } d ? $"duration {d:0.###} s" : $"{c.Records:N0} records")}  retries {c.Retries}");
        text.AppendLine();

        var g = report.Generator;
        text.AppendLine("Generator" + (c.DryRun ? " (dry run: no HTTP)" : ""));
        text.AppendLine(Ic, $"  {g.Records:N0} records in {g.Batches:N0} batches, {g.Bytes / 1e6:N1} MB, {g.Seconds:N3} s on {g.Threads} thread(s): " +
            $"{g.RecordsPerSecond:N0} records/s, {g.MegabytesPerSecond:N1} MB/s; mean record {g.MeanRecordBytes:N1} bytes");
        var total = Math.Max(1, g.Records);
        text.AppendLine("  levels: " + string.Join("  ", g.Levels.Select(l => string.Create(Ic, $"{l.Key} {100.0 * l.Value / total:0.00}%"))));
        if (c.DurationS is not null)
            text.AppendLine(Ic, $"  senders waited for the generator {g.Stalls:N0} time(s)");
        text.AppendLine();

        if (report.Warmup is { } w)
            text.AppendLine(Ic, $"Warmup  {w.RecordsAcked:N0}/{w.RecordsSent:N0} records acked in {w.Requests:N0} requests, {w.Seconds:N3} s, errors: {Errors(w.Errors)}").AppendLine();

        if (report.Ingest is { } i)
        {
            text.AppendLine(Ic, $"Ingest ({c.Consistency}, {c.Format}, batch {c.Batch}, {c.Concurrency} in flight)");
            Table(text,
                ["records acked", "records sent", "seconds", "records/s", "requests/s", "MB/s sent"],
                [[N(i.RecordsAcked), N(i.RecordsSent), F(i.Seconds, 3), N(i.RecordsPerSecond), F(i.RequestsPerSecond, 1), F(i.MegabytesPerSecond, 1)]]);
            text.AppendLine();
            Table(text, ["batch latency ms", "count", "p50", "p90", "p99", "p99.9", "max", "mean"],
                [["acked requests", N(i.Latency.Count), F(i.Latency.P50Ms, 3), F(i.Latency.P90Ms, 3), F(i.Latency.P99Ms, 3), F(i.Latency.P999Ms, 3), F(i.Latency.MaxMs, 3), F(i.Latency.MeanMs, 3)]]);
            text.AppendLine(Ic, $"  errors: {Errors(i.Errors)}   retries: {Errors(i.Retries)}   bytes sent: {i.BytesSent:N0}");
            if (i.AcceptedMismatches > 0)
                text.AppendLine(Ic, $"  {i.AcceptedMismatches:N0} acked replies had an 'accepted' count other than the records sent");
            foreach (var sample in i.ErrorSamples)
                text.AppendLine("  error: " + sample);
            text.AppendLine();
        }

        if (report.Queries is { Count: > 0 } queries)
        {
            text.AppendLine(Ic, $"Queries ({c.QueryConsistency}, limit {c.QueryLimit}, {c.QueryConcurrency} in flight)");
            Table(text, ["query", "count", "ok", "q/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "results mean", "min", "max", "partial", "errors"],
                queries.Select(q => new[]
                {
                    q.Kind, N(q.Queries), N(q.Ok), F(q.QueriesPerSecond, 1), F(q.Latency.P50Ms, 3), F(q.Latency.P90Ms, 3), F(q.Latency.P99Ms, 3),
                    F(q.Latency.P999Ms, 3), F(q.Latency.MaxMs, 3), F(q.ResultsMean, 1), N(q.ResultsMin), N(q.ResultsMax), N(q.Partial), Errors(q.Errors),
                }).ToList());
            foreach (var q in queries)
            {
                if (q.FilterViolations > 0 || q.MalformedReplies > 0)
                    text.AppendLine(Ic, $"  {q.Kind}: {q.FilterViolations:N0} records outside the filter, {q.MalformedReplies:N0} malformed replies");
                foreach (var sample in q.ErrorSamples)
                    text.AppendLine("  error: " + sample);
            }

            text.AppendLine();
        }

        if (report.Verify is { } v)
        {
            text.AppendLine(Ic, $"Verify (level=ERROR per source at {v.Consistency}, through every node): {(v.Ok ? "OK, every acked ERROR record came back, nothing else" : "FAILED")}");
            Table(text, ["node", "expected", "found", "missing", "unexpected", "from failed writes", "duplicates", "wrong filter", "partial", "queries", "errors", "result"],
                v.Nodes.Select(n => new[]
                {
                    n.Node, N(n.Expected), N(n.Found), N(n.Missing), N(n.Unexpected), N(n.FromFailedWrites), N(n.Duplicates), N(n.FilterViolations),
                    N(n.PartialReplies), N(n.Queries), Errors(n.QueryErrors), n.Ok ? "ok" : "FAILED",
                }).ToList());
            foreach (var n in v.Nodes)
            {
                if (n.MissingSample.Count > 0)
                    text.AppendLine(Ic, $"  {n.Node} missing: {string.Join(", ", n.MissingSample)}{(n.Missing > n.MissingSample.Count ? ", ..." : "")}");
                if (n.UnexpectedSample.Count > 0)
                    text.AppendLine(Ic, $"  {n.Node} unexpected: {string.Join(", ", n.UnexpectedSample)}{(n.Unexpected > n.UnexpectedSample.Count ? ", ..." : "")}");
                foreach (var problem in n.Problems)
                    text.AppendLine(Ic, $"  {n.Node}: {problem}");
            }

            text.AppendLine();
        }

        text.AppendLine(Ic, $"exit code {report.ExitCode}");
        return text.ToString();
    }

    private static string N(double value) => value.ToString("N0", Ic);

    private static string F(double value, int digits) => value.ToString("F" + digits.ToString(Ic), Ic);

    private static string Errors(IReadOnlyDictionary<string, long> errors) =>
        errors.Count == 0 ? "none" : string.Join(", ", errors.Select(e => string.Create(Ic, $"{e.Key}: {e.Value:N0}")));

    private static void Table(StringBuilder text, string[] header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        text.Append("  ");
        for (var i = 0; i < header.Length; i++)
            text.Append(i == 0 ? header[i].PadRight(widths[i]) : header[i].PadLeft(widths[i])).Append("  ");
        text.Length -= 2;
        text.AppendLine();
        foreach (var row in rows)
        {
            text.Append("  ");
            for (var i = 0; i < row.Length; i++)
                text.Append(i == 0 ? row[i].PadRight(widths[i]) : row[i].PadLeft(widths[i])).Append("  ");
            text.Length -= 2;
            text.AppendLine();
        }
    }
}
