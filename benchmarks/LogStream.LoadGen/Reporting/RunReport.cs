using System.Text.Json;
using System.Text.Json.Serialization;
using LogStream.LoadGen.Generation;
using LogStream.LoadGen.Ingest;
using LogStream.LoadGen.Measurement;
using LogStream.LoadGen.Options;
using LogStream.LoadGen.Query;
using LogStream.LoadGen.Verify;

namespace LogStream.LoadGen.Reporting;

/// <summary>The machine-readable result (<c>--json</c>): the same numbers as the table, snake_case like the public API.</summary>
public sealed class RunReport
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Tool { get; init; } = "LogStream.LoadGen";

    public required DateTimeOffset StartedAt { get; init; }

    public required MachineReport Machine { get; init; }

    public required ConfigReport Config { get; init; }

    public required GeneratorReport Generator { get; set; }

    public PhaseReport? Warmup { get; set; }

    public PhaseReport? Ingest { get; set; }

    public List<QueryReport>? Queries { get; set; }

    public VerifyReport? Verify { get; set; }

    public int ExitCode { get; set; }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}

public sealed record MachineReport(int Cores, string Os, string Runtime)
{
    public static MachineReport Current() => new(Environment.ProcessorCount,
        System.Runtime.InteropServices.RuntimeInformation.OSDescription, System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
}

public sealed record ConfigReport(
    IReadOnlyList<string> Nodes,
    long? Records,
    double? DurationS,
    int Batch,
    int Concurrency,
    string Consistency,
    string Format,
    int Sources,
    double ErrorRate,
    int MessageBytes,
    bool StringAttributes,
    ulong Seed,
    string RunId,
    DateTimeOffset StartTime,
    double TimeStepUs,
    long WarmupRecords,
    int Retries,
    double TimeoutS,
    int Queries,
    int QueryConcurrency,
    int QueryLimit,
    string QueryConsistency,
    bool Verify,
    bool DryRun)
{
    public static ConfigReport From(LoadGenOptions o, GeneratorSettings g) => new(
        o.Nodes.Select(n => n.ToString().TrimEnd('/')).ToArray(),
        o.Duration is null ? o.Records : null,
        o.Duration?.TotalSeconds,
        o.Batch, o.Concurrency, o.Consistency.ToWire(), o.Format.ToWire(), o.Sources, o.ErrorRate, o.MessageBytes, o.StringAttributes,
        g.Seed, g.RunId, g.StartTime, g.TimeStep.TotalMicroseconds, o.EffectiveWarmupRecords, o.Retries, o.Timeout.TotalSeconds,
        o.Queries, o.QueryConcurrency, o.QueryLimit, o.QueryConsistency.ToWire(), o.Verify, o.DryRun);
}

public sealed record GeneratorReport(
    long Records,
    long Batches,
    long Bytes,
    double Seconds,
    int Threads,
    double RecordsPerSecond,
    double MegabytesPerSecond,
    double MeanRecordBytes,
    IReadOnlyDictionary<string, long> Levels,
    long Stalls)
{
    public static GeneratorReport From(GeneratorStats stats, long stalls)
    {
        var seconds = stats.Elapsed.TotalSeconds;
        var levels = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < stats.LevelCounts.Length; i++)
            levels[Severities.Names[i]] = stats.LevelCounts[i];
        return new GeneratorReport(stats.Records, stats.Batches, stats.Bytes, Round(seconds, 3), stats.Threads,
            Round(Rate(stats.Records, seconds), 1), Round(Rate(stats.Bytes, seconds) / 1e6, 2),
            Round(stats.Records == 0 ? 0 : (double)stats.Bytes / stats.Records, 1), levels, stalls);
    }

    internal static double Rate(double count, double seconds) => seconds > 0 ? count / seconds : 0;

    internal static double Round(double value, int digits) => Math.Round(value, digits, MidpointRounding.AwayFromZero);
}

/// <summary>Latency percentiles in milliseconds (nearest rank, 0.2 % resolution).</summary>
public sealed record LatencyReport(long Count, double MinMs, double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs, double MeanMs)
{
    public static LatencyReport From(LatencyHistogram h) => new(h.Count, Ms(h.Min), Ms(h.ValueAtPercentile(50)), Ms(h.ValueAtPercentile(90)),
        Ms(h.ValueAtPercentile(99)), Ms(h.ValueAtPercentile(99.9)), Ms(h.Max), Math.Round(h.Mean / 1000.0, 3));

    private static double Ms(long micros) => Math.Round(micros / 1000.0, 3);
}

public sealed record PhaseReport(
    long RecordsSent,
    long RecordsAcked,
    long Requests,
    long RequestsOk,
    double Seconds,
    double RecordsPerSecond,
    double RequestsPerSecond,
    long BytesSent,
    double MegabytesPerSecond,
    LatencyReport Latency,
    IReadOnlyDictionary<string, long> Errors,
    IReadOnlyDictionary<string, long> Retries,
    long AcceptedMismatches,
    IReadOnlyList<string> ErrorSamples)
{
    public static PhaseReport From(IngestStats s)
    {
        var seconds = s.Elapsed.TotalSeconds;
        return new PhaseReport(s.RecordsSent, s.RecordsAcked, s.Requests, s.RequestsOk, GeneratorReport.Round(seconds, 3),
            GeneratorReport.Round(GeneratorReport.Rate(s.RecordsAcked, seconds), 1), GeneratorReport.Round(GeneratorReport.Rate(s.RequestsOk, seconds), 1),
            s.BytesSent, GeneratorReport.Round(GeneratorReport.Rate(s.BytesSent, seconds) / 1e6, 2), LatencyReport.From(s.Latency),
            new SortedDictionary<string, long>(s.Errors, StringComparer.Ordinal), new SortedDictionary<string, long>(s.Retries, StringComparer.Ordinal),
            s.AcceptedMismatches, s.ErrorSamples);
    }
}

public sealed record QueryReport(
    string Kind,
    long Queries,
    long Ok,
    double Seconds,
    double QueriesPerSecond,
    LatencyReport Latency,
    IReadOnlyDictionary<string, long> Errors,
    long ResultsTotal,
    double ResultsMean,
    long ResultsMin,
    long ResultsMax,
    long Partial,
    long FilterViolations,
    long MalformedReplies,
    IReadOnlyList<string> ErrorSamples)
{
    public static QueryReport From(QueryStats s)
    {
        var seconds = s.Elapsed.TotalSeconds;
        var parsed = s.Ok - s.MalformedReplies;
        return new QueryReport(s.Kind, s.Queries, s.Ok, GeneratorReport.Round(seconds, 3), GeneratorReport.Round(GeneratorReport.Rate(s.Ok, seconds), 1),
            LatencyReport.From(s.Latency), new SortedDictionary<string, long>(s.Errors, StringComparer.Ordinal), s.Results,
            GeneratorReport.Round(parsed > 0 ? (double)s.Results / parsed : 0, 1), parsed > 0 ? s.MinResults : 0, s.MaxResults, s.Partial,
            s.FilterViolations, s.MalformedReplies, s.ErrorSamples);
    }
}

public sealed record VerifyReport(bool Ok, string Consistency, long ExpectedErrorRecords, IReadOnlyList<NodeVerifyReport> Nodes);

public sealed record NodeVerifyReport(
    string Node,
    bool Ok,
    long Expected,
    long Found,
    long Missing,
    long Unexpected,
    long FromFailedWrites,
    long FilterViolations,
    long Duplicates,
    long PartialReplies,
    long Queries,
    IReadOnlyDictionary<string, long> QueryErrors,
    IReadOnlyList<string> MissingSample,
    IReadOnlyList<string> UnexpectedSample,
    IReadOnlyList<string> Problems)
{
    public static NodeVerifyReport From(NodeVerification v) => new(v.Node.ToString().TrimEnd('/'), v.Ok, v.Expected, v.Found, v.Missing, v.Unexpected,
        v.FromFailedWrites, v.FilterViolations, v.Duplicates, v.PartialReplies, v.Queries,
        new SortedDictionary<string, long>(v.QueryErrors, StringComparer.Ordinal), v.MissingSample, v.UnexpectedSample, v.Problems);
}
