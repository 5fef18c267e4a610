using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LogStream.LoadGen.Options;

/// <summary>The outcome of parsing a command line: options to run with, a request for help, or an error message.</summary>
public sealed record ParseOutcome(LoadGenOptions? Options, bool HelpRequested, string? Error)
{
    public static ParseOutcome Help() => new(null, true, null);

    public static ParseOutcome Fail(string error) => new(null, false, error);
}

/// <summary>
/// A small GNU-style parser (<c>--name value</c> or <c>--name=value</c>) with no package behind it: the option table
/// below is both the parser and the <c>--help</c> text, so the two cannot drift apart.
/// </summary>
public static partial class OptionParser
{
    private sealed record Spec(string Name, string? Value, string Help, Action<LoadGenOptions, string> Apply);

    private static readonly Spec[] Specs =
    [
        new("--nodes", "URLS", "Comma-separated node URLs; writes and queries go to them round-robin. Default: http://localhost:5100,http://localhost:5101,http://localhost:5102.",
            (o, v) => o.Nodes = ParseNodes(v)),
        new("--records", "N", $"Records in the timed ingest phase (k/M suffixes allowed). Default: {LoadGenOptions.DefaultRecords:N0}.",
            (o, v) => o.Records = ParseCount(v, "--records", min: 0)),
        new("--duration", "TIME", "Ingest for this long instead of --records (e.g. 30s, 2m); records are generated on a background thread while sending.",
            (o, v) => o.Duration = ParsePositiveDuration(v, "--duration")),
        new("--batch", "B", $"Records per request; 1 sends single-record requests. Default: {LoadGenOptions.DefaultBatch}.",
            (o, v) => o.Batch = (int)ParseCount(v, "--batch", min: 1, max: 1_000_000)),
        new("--concurrency", "C", $"Write requests in flight. Default: {LoadGenOptions.DefaultConcurrency}.",
            (o, v) => o.Concurrency = (int)ParseCount(v, "--concurrency", min: 1, max: 100_000)),
        new("--consistency", "LEVEL", "Write consistency: ONE, QUORUM or ALL. Default: QUORUM.",
            (o, v) => o.Consistency = ParseConsistency(v, "--consistency")),
        new("--format", "FORMAT", "Body format: json (an array) or ndjson (one record per line). Default: json.",
            (o, v) => o.Format = ParseFormat(v)),
        new("--sources", "K", $"Distinct sources (checkout, payments, auth, search, inventory, ...). Default: {LoadGenOptions.DefaultSources}.",
            (o, v) => o.Sources = (int)ParseCount(v, "--sources", min: 1, max: 100_000)),
        new("--error-rate", "P", $"Fraction of ERROR/FATAL records, 0..1 (realistic: 0.01..0.05; FATAL is 1/20 of it). Default: {LoadGenOptions.DefaultErrorRate.ToString(CultureInfo.InvariantCulture)}.",
            (o, v) => o.ErrorRate = ParseFraction(v, "--error-rate")),
        new("--message-bytes", "N", $"Mean message size in bytes (a record is ~195 bytes of JSON plus its message). Default: {LoadGenOptions.DefaultMessageBytes} (~250-byte records).",
            (o, v) => o.MessageBytes = (int)ParseCount(v, "--message-bytes", min: 1, max: 10_000_000)),
        new("--string-attributes", null, "Send every attribute value as a JSON string (status and duration_ms are numbers otherwise).",
            (o, _) => o.StringAttributes = true),
        new("--seed", "N", "Seed of the record generator (same seed, --run-id and --start-time: same bytes). Default: random.",
            (o, v) => o.Seed = ParseSeed(v)),
        new("--run-id", "ID", "Prefix of every record id ({run-id}-{sequence}); letters, digits, '.', '_', '-'. Default: random, so reruns never collide.",
            (o, v) => o.RunId = ParseRunId(v)),
        new("--start-time", "RFC3339", "Timestamp of the first record. Default: the run's records end at the moment they are generated.",
            (o, v) => o.StartTime = ParseTime(v, "--start-time")),
        new("--time-step", "TIME", "Timestamp distance between consecutive records, at least 1us (e.g. 10us, 1ms). Default: 10us.",
            (o, v) => o.TimeStep = ParseTimeStep(v)),
        new("--warmup", "N", "Records sent before the timed phase (not measured; verified). Default: one request per connection (concurrency x batch).",
            (o, v) => o.WarmupRecords = ParseCount(v, "--warmup", min: 0)),
        new("--queries", "Q", $"ERROR queries after ingest, alternating level=ERROR and level=ERROR&source=...; 0 skips the phase. Default: {LoadGenOptions.DefaultQueries}.",
            (o, v) => o.Queries = (int)ParseCount(v, "--queries", min: 0, max: int.MaxValue)),
        new("--query-concurrency", "C", $"Queries in flight. Default: {LoadGenOptions.DefaultQueryConcurrency}.",
            (o, v) => o.QueryConcurrency = (int)ParseCount(v, "--query-concurrency", min: 1, max: 100_000)),
        new("--query-limit", "N", $"limit= of each query. Default: {LoadGenOptions.DefaultQueryLimit}.",
            (o, v) => o.QueryLimit = (int)ParseCount(v, "--query-limit", min: 1, max: int.MaxValue)),
        new("--query-consistency", "LEVEL", "Read consistency of the query phase. Default: QUORUM.",
            (o, v) => o.QueryConsistency = ParseConsistency(v, "--query-consistency")),
        new("--verify", null, "After ingest, read every source's ERROR records back at QUORUM through every node and compare with the acked ERROR ids; any difference fails the run (exit 1).",
            (o, _) => o.Verify = true),
        new("--verify-page", "N", $"limit= of each verify query (pages by time). Default: {LoadGenOptions.DefaultVerifyPageSize}.",
            (o, v) => o.VerifyPageSize = (int)ParseCount(v, "--verify-page", min: 2, max: int.MaxValue)),
        new("--retries", "N", "Retry a failed write up to N times (same body and ids, so idempotent) on 408, 429, 5xx and transport errors. Default: 0 (errors are counted).",
            (o, v) => o.Retries = (int)ParseCount(v, "--retries", min: 0, max: 100)),
        new("--timeout", "TIME", "Timeout of one HTTP request. Default: 30s.",
            (o, v) => o.Timeout = ParsePositiveDuration(v, "--timeout")),
        new("--dry-run", null, "Generate and serialize only, no HTTP; reports how fast the generator itself goes.",
            (o, _) => o.DryRun = true),
        new("--generator-threads", "N", "Threads that serialize the records before the timed phase. Default: the number of cores.",
            (o, v) => o.GeneratorThreads = (int)ParseCount(v, "--generator-threads", min: 1, max: 1024)),
        new("--json", "FILE", "Also write the result as JSON to FILE.",
            (o, v) => o.JsonPath = v),
        new("--quiet", null, "No progress lines on standard error.",
            (o, _) => o.Quiet = true),
        new("--help", null, "Show this help (also -h).", (_, _) => { }),
    ];

    public static ParseOutcome Parse(IReadOnlyList<string> args)
    {
        var options = new LoadGenOptions();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "-?")
                return ParseOutcome.Help();
            if (!arg.StartsWith("--", StringComparison.Ordinal))
                return ParseOutcome.Fail($"Unexpected argument '{arg}'. Options start with '--'; see --help.");

            string name = arg;
            string? value = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                name = arg[..equals];
                value = arg[(equals + 1)..];
            }

            var spec = Array.Find(Specs, s => s.Name == name);
            if (spec is null)
                return ParseOutcome.Fail($"Unknown option '{name}'; see --help.");
            if (!seen.Add(name))
                return ParseOutcome.Fail($"Option '{name}' is given twice.");
            if (spec.Value is null)
            {
                if (value is not null)
                    return ParseOutcome.Fail($"Option '{name}' takes no value.");
                value = "";
            }
            else if (value is null)
            {
                if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                    return ParseOutcome.Fail($"Option '{name}' needs a value ({spec.Value}).");
                value = args[++i];
            }

            try
            {
                spec.Apply(options, value);
            }
            catch (FormatException e)
            {
                return ParseOutcome.Fail(e.Message);
            }
        }

        if (seen.Contains("--records") && seen.Contains("--duration"))
            return ParseOutcome.Fail("Give --records or --duration, not both.");
        if (options.Duration is null && options.Records == 0 && options.Queries == 0 && !options.Verify)
            return ParseOutcome.Fail("Nothing to do: --records 0 and --queries 0.");
        if (options.Duration is not null && options.DryRun)
            return ParseOutcome.Fail("--dry-run measures a fixed number of records: give --records, not --duration.");
        return new ParseOutcome(options, false, null);
    }

    public static string HelpText()
    {
        var text = new StringBuilder();
        text.AppendLine("LogStream.LoadGen - drives a LogStream cluster through its public HTTP API (DESIGN section 9).");
        text.AppendLine();
        text.AppendLine("Usage: LogStream.LoadGen [options]");
        text.AppendLine();
        text.AppendLine("Phases: generate (before timing) -> warmup -> timed ingest (POST /api/logs) -> queries (GET /api/logs?level=ERROR) -> verify.");
        text.AppendLine();
        text.AppendLine("Options:");
        var width = Specs.Max(s => s.Name.Length + (s.Value is null ? 0 : s.Value.Length + 1)) + 2;
        foreach (var spec in Specs)
        {
            var left = spec.Value is null ? spec.Name : $"{spec.Name} {spec.Value}";
            text.Append("  ").Append(left.PadRight(width)).AppendLine(spec.Help);
        }

        text.AppendLine();
        text.AppendLine("Exit codes: 0 success; 1 --verify found a difference; 2 bad arguments; 3 some request failed (see errors).");
        text.AppendLine();
        text.AppendLine("Examples:");
        text.AppendLine("  LogStream.LoadGen --records 5M --batch 1000 --concurrency 8 --consistency QUORUM --json batch1000.json");
        text.AppendLine("  LogStream.LoadGen --duration 60s --batch 1 --concurrency 64 --json single64.json");
        text.AppendLine("  LogStream.LoadGen --records 20k --batch 1 --concurrency 1 --queries 0");
        text.AppendLine("  LogStream.LoadGen --records 1M --dry-run");
        return text.ToString();
    }

    /// <summary>Every option name, for tests that check the help mentions each.</summary>
    internal static IEnumerable<string> OptionNamesForTests => Specs.Select(s => s.Name);

    internal static IReadOnlyList<Uri> ParseNodes(string value)
    {
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new FormatException("--nodes needs at least one URL.");
        var nodes = new List<Uri>(parts.Length);
        foreach (var part in parts)
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw new FormatException($"--nodes: '{part}' is not an http:// or https:// URL.");
            if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
                throw new FormatException($"--nodes: '{part}' must not have a query or fragment.");
            // A base with a trailing slash so that "api/logs" resolves below any path prefix.
            nodes.Add(uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/"));
        }

        return nodes;
    }

    /// <summary>A non-negative integer with an optional k (1 000) or M (1 000 000) suffix; "_" and "," group digits.</summary>
    internal static long ParseCount(string value, string option, long min, long max = long.MaxValue)
    {
        var text = value.Trim().Replace("_", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        long multiplier = 1;
        if (text.EndsWith('k') || text.EndsWith('K'))
            multiplier = 1_000;
        else if (text.EndsWith('M') || text.EndsWith('m'))
            multiplier = 1_000_000;
        if (multiplier != 1)
            text = text[..^1];
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            throw new FormatException($"{option}: '{value}' is not a whole number (k and M suffixes allowed).");
        var result = checked(number * multiplier);
        if (result < min || result > max)
            throw new FormatException(max == long.MaxValue
                ? $"{option}: must be at least {min} (was {value})."
                : $"{option}: must be between {min} and {max} (was {value}).");
        return result;
    }

    /// <summary>A duration such as 500ms, 10us, 30s, 2m, 1h, 1.5s, or a bare number of seconds.</summary>
    internal static TimeSpan ParseDuration(string value, string option)
    {
        var match = DurationPattern().Match(value.Trim());
        if (!match.Success)
            throw new FormatException($"{option}: '{value}' is not a duration (e.g. 500ms, 30s, 2m, 10us).");
        var number = double.Parse(match.Groups["n"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        return match.Groups["u"].Value.ToLowerInvariant() switch
        {
            "ns" => TimeSpan.FromTicks((long)Math.Round(number / 100)),
            "us" or "µs" => TimeSpan.FromTicks((long)Math.Round(number * 10)),
            "ms" => TimeSpan.FromTicks((long)Math.Round(number * TimeSpan.TicksPerMillisecond)),
            "" or "s" => TimeSpan.FromTicks((long)Math.Round(number * TimeSpan.TicksPerSecond)),
            "m" or "min" => TimeSpan.FromTicks((long)Math.Round(number * TimeSpan.TicksPerMinute)),
            "h" => TimeSpan.FromTicks((long)Math.Round(number * TimeSpan.TicksPerHour)),
            _ => throw new FormatException($"{option}: unknown unit in '{value}'."),
        };
    }

    private static TimeSpan ParsePositiveDuration(string value, string option)
    {
        var duration = ParseDuration(value, option);
        return duration > TimeSpan.Zero ? duration : throw new FormatException($"{option}: must be greater than zero (was {value}).");
    }

    // Timestamps go on the wire with microsecond digits: a smaller step would give two records one timestamp.
    private static TimeSpan ParseTimeStep(string value)
    {
        var step = ParseDuration(value, "--time-step");
        return step >= TimeSpan.FromMicroseconds(1) ? step : throw new FormatException($"--time-step: must be at least 1us (was {value}).");
    }

    private static Consistency ParseConsistency(string value, string option) => value.Trim().ToUpperInvariant() switch
    {
        "ONE" => Consistency.One,
        "QUORUM" => Consistency.Quorum,
        "ALL" => Consistency.All,
        _ => throw new FormatException($"{option}: '{value}' is not ONE, QUORUM or ALL."),
    };

    private static PayloadFormat ParseFormat(string value) => value.Trim().ToLowerInvariant() switch
    {
        "json" => PayloadFormat.Json,
        "ndjson" => PayloadFormat.Ndjson,
        _ => throw new FormatException($"--format: '{value}' is not json or ndjson."),
    };

    private static double ParseFraction(string value, string option)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction) || fraction is < 0 or > 1 || double.IsNaN(fraction))
            throw new FormatException($"{option}: '{value}' is not a fraction between 0 and 1 (e.g. 0.03).");
        return fraction;
    }

    private static ulong ParseSeed(string value) =>
        ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : throw new FormatException($"--seed: '{value}' is not a non-negative whole number.");

    private static string ParseRunId(string value) =>
        RunIdPattern().IsMatch(value)
            ? value
            : throw new FormatException($"--run-id: '{value}' must be 1 to 64 letters, digits, '.', '_' or '-'.");

    private static DateTimeOffset ParseTime(string value, string option) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.ToUniversalTime()
            : throw new FormatException($"{option}: '{value}' is not an RFC 3339 time (e.g. 2026-11-26T15:00:00Z).");

    [GeneratedRegex(@"^(?<n>\d+(\.\d+)?)\s*(?<u>ns|us|µs|ms|s|min|m|h)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex RunIdPattern();
}
