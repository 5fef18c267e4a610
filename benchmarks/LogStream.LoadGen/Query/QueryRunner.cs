using System.Diagnostics;
using System.Text.Json;
using LogStream.LoadGen.Generation;
using LogStream.LoadGen.Ingest;
using LogStream.LoadGen.Measurement;
using LogStream.LoadGen.Options;

namespace LogStream.LoadGen.Query;

/// <summary>Latency and results of one kind of query.</summary>
public sealed class QueryStats(string kind)
{
    public string Kind { get; } = kind;

    public LatencyHistogram Latency { get; } = new();

    public long Queries { get; set; }

    public long Ok { get; set; }

    public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    public List<string> ErrorSamples { get; } = [];

    /// <summary>Records returned, summed over the successful queries.</summary>
    public long Results { get; set; }

    public long MinResults { get; set; } = long.MaxValue;

    public long MaxResults { get; set; }

    /// <summary>Replies with <c>partial: true</c>.</summary>
    public long Partial { get; set; }

    /// <summary>Returned records that do not match the filter (a level other than ERROR, another source).</summary>
    public long FilterViolations { get; set; }

    /// <summary>Successful replies whose body was not the documented shape.</summary>
    public long MalformedReplies { get; set; }

    public TimeSpan Elapsed { get; set; }

    public void Add(QueryStats other)
    {
        Latency.Add(other.Latency);
        Queries += other.Queries;
        Ok += other.Ok;
        Results += other.Results;
        MinResults = Math.Min(MinResults, other.MinResults);
        MaxResults = Math.Max(MaxResults, other.MaxResults);
        Partial += other.Partial;
        FilterViolations += other.FilterViolations;
        MalformedReplies += other.MalformedReplies;
        foreach (var (key, count) in other.Errors)
            Errors[key] = Errors.GetValueOrDefault(key) + count;
        foreach (var sample in other.ErrorSamples)
        {
            if (ErrorSamples.Count < 5)
                ErrorSamples.Add(sample);
        }
    }
}

/// <summary>
/// The query phase: what a dashboard asks after an incident. Even-numbered queries are
/// <c>GET /api/logs?level=ERROR&amp;limit=L</c>, odd ones add <c>source=S</c> with S drawn from the run's sources.
/// </summary>
public sealed class QueryRunner(LogApiClient client, IReadOnlyList<string> sources, int limit, Consistency consistency, ulong seed)
{
    public const string AllSources = "level=ERROR";
    public const string OneSource = "level=ERROR&source=S";

    private long _next = -1;

    /// <summary>Runs <paramref name="warmup"/> unmeasured queries, then <paramref name="queries"/> measured ones.</summary>
    public async Task<QueryStats[]> RunAsync(int queries, int concurrency, int warmup, CancellationToken cancellationToken)
    {
        if (warmup > 0)
        {
            _next = -1;
            await RunPhaseAsync(warmup, concurrency, cancellationToken).ConfigureAwait(false);
        }

        _next = -1;
        return await RunPhaseAsync(queries, concurrency, cancellationToken).ConfigureAwait(false);
    }

    private async Task<QueryStats[]> RunPhaseAsync(int queries, int concurrency, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var workers = new Task<QueryStats[]>[Math.Min(concurrency, Math.Max(1, queries))];
        for (var i = 0; i < workers.Length; i++)
            workers[i] = Task.Run(() => QueryLoopAsync(queries, cancellationToken), CancellationToken.None);
        var results = await Task.WhenAll(workers).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);

        QueryStats[] total = [new(AllSources) { Elapsed = elapsed }, new(OneSource) { Elapsed = elapsed }];
        foreach (var result in results)
        {
            total[0].Add(result[0]);
            total[1].Add(result[1]);
        }

        return total;
    }

    private async Task<QueryStats[]> QueryLoopAsync(int queries, CancellationToken cancellationToken)
    {
        QueryStats[] stats = [new(AllSources), new(OneSource)];
        var wire = consistency.ToWire();
        while (!cancellationToken.IsCancellationRequested)
        {
            var index = Interlocked.Increment(ref _next);
            if (index >= queries)
                break;

            var kind = (int)(index % 2);
            string? source = null;
            var query = $"api/logs?level=ERROR&limit={limit}&consistency={wire}";
            if (kind == 1)
            {
                var random = SplitMix64.ForRecord(seed ^ 0x5EA7C4, index);
                source = sources[random.Next(sources.Count)];
                query += "&source=" + Uri.EscapeDataString(source);
            }

            var s = stats[kind];
            var started = Stopwatch.GetTimestamp();
            var result = await client.GetAsync((int)(index % client.Nodes.Count), query, cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            s.Queries++;
            if (!result.Success)
            {
                s.Errors[result.ErrorKey!] = s.Errors.GetValueOrDefault(result.ErrorKey!) + 1;
                if (s.ErrorSamples.Count < 5 && result.Body is { Length: > 0 } body)
                    s.ErrorSamples.Add($"{result.Status}: {IngestRunner.Describe(body)}");
                continue;
            }

            s.Ok++;
            s.Latency.Record(elapsed);
            if (!TryReadReply(result.Body!, source, out var count, out var partial, out var violations))
            {
                s.MalformedReplies++;
                continue;
            }

            s.Results += count;
            s.MinResults = Math.Min(s.MinResults, count);
            s.MaxResults = Math.Max(s.MaxResults, count);
            s.FilterViolations += violations;
            if (partial)
                s.Partial++;
        }

        return stats;
    }

    /// <summary>Reads <c>{records: [...], partial}</c>; counts records whose level is not ERROR or whose source is not <paramref name="source"/>.</summary>
    internal static bool TryReadReply(byte[] body, string? source, out int count, out bool partial, out int violations)
    {
        count = 0;
        partial = false;
        violations = 0;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array)
                return false;
            partial = root.TryGetProperty("partial", out var p) && p.ValueKind == JsonValueKind.True;
            foreach (var record in records.EnumerateArray())
            {
                count++;
                var levelOk = record.TryGetProperty("level", out var level) && level.ValueKind == JsonValueKind.String
                    && string.Equals(level.GetString(), "ERROR", StringComparison.OrdinalIgnoreCase);
                var sourceOk = source is null || (record.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.String && s.ValueEquals(source));
                if (!levelOk || !sourceOk)
                    violations++;
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
