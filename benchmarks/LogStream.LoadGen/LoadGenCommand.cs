using System.Security.Cryptography;
using LogStream.LoadGen.Generation;
using LogStream.LoadGen.Ingest;
using LogStream.LoadGen.Options;
using LogStream.LoadGen.Query;
using LogStream.LoadGen.Reporting;
using LogStream.LoadGen.Verify;

namespace LogStream.LoadGen;

/// <summary>
/// One run: generate (before any timing) → warmup → timed ingest → queries → verify → report (table and JSON).
/// </summary>
public static class LoadGenCommand
{
    public const int ExitOk = 0;
    public const int ExitVerifyFailed = 1;
    public const int ExitUsage = 2;
    public const int ExitRequestErrors = 3;
    public const int ExitCancelled = 130;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var parsed = OptionParser.Parse(args);
        if (parsed.HelpRequested)
        {
            await stdout.WriteAsync(OptionParser.HelpText()).ConfigureAwait(false);
            return ExitOk;
        }

        if (parsed.Options is null)
        {
            await stderr.WriteLineAsync("error: " + parsed.Error).ConfigureAwait(false);
            await stderr.WriteLineAsync("Run with --help to see the options.").ConfigureAwait(false);
            return ExitUsage;
        }

        var report = await ExecuteAsync(parsed.Options, stdout, stderr, cancellationToken).ConfigureAwait(false);
        return report.ExitCode;
    }

    /// <summary>Settings of the generator: the given seed, run id and start time, or fresh ones.</summary>
    public static GeneratorSettings SettingsFor(LoadGenOptions o, DateTimeOffset now)
    {
        var seed = o.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        var runId = o.RunId ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var records = o.EffectiveWarmupRecords + (o.Duration is null ? o.Records : 0);
        var start = o.StartTime ?? (o.Duration is { } d
            ? now - d
            : now - TimeSpan.FromTicks(Math.Min(o.TimeStep.Ticks * records, TimeSpan.TicksPerDay * 365)));
        // Whole microseconds, so that the timestamps on the wire are exactly the generator's.
        start = new DateTimeOffset(start.UtcTicks - (start.UtcTicks % 10), TimeSpan.Zero);
        return new GeneratorSettings(seed, runId, start, o.TimeStep, o.Sources, o.ErrorRate, o.MessageBytes, o.Format, o.StringAttributes);
    }

    public static async Task<RunReport> ExecuteAsync(LoadGenOptions o, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var settings = SettingsFor(o, startedAt);
        var generator = new RecordGenerator(settings);
        var progress = o.Quiet ? null : stderr;
        var warmupRecords = o.EffectiveWarmupRecords;

        // 1. Generate everything the fixed-size phases send, before any clock runs.
        await Say(progress, o.Duration is null
            ? $"generating {warmupRecords + o.Records:N0} records on {o.GeneratorThreads} thread(s)..."
            : $"generating {warmupRecords:N0} warmup records; the timed records are generated while sending...").ConfigureAwait(false);
        var warmupBatches = PregeneratedBatches.Generate(generator, 0, warmupRecords, o.Batch, o.GeneratorThreads, new GeneratorStats());
        var generatorStats = new GeneratorStats();
        IBatchSource timed;
        StreamingBatches? streaming = null;
        if (o.Duration is null)
        {
            timed = PregeneratedBatches.Generate(generator, warmupRecords, o.Records, o.Batch, o.GeneratorThreads, generatorStats);
        }
        else
        {
            timed = streaming = new StreamingBatches(generator, warmupRecords, o.Batch, StreamingBatches.CapacityFor(o.Batch, o.Concurrency));
            try
            {
                await streaming.WaitFilledAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C while filling: the phases below see the cancellation and the report says so.
            }
        }

        var report = new RunReport
        {
            StartedAt = startedAt,
            Machine = MachineReport.Current(),
            Config = ConfigReport.From(o, settings),
            Generator = GeneratorReport.From(generatorStats, 0),
        };

        if (o.DryRun)
            return await FinishAsync(report, o, stdout, stderr, cancellationToken).ConfigureAwait(false);

        using var client = new LogApiClient(o.Nodes, Math.Max(o.Concurrency, o.QueryConcurrency), o.Timeout, o.Consistency, o.Format);
        var acked = new List<SentBatch>();
        var failed = new List<SentBatch>();
        try
        {
            // 2. Warmup: connections opened, code paths jitted; sent like the rest but not measured.
            if (warmupRecords > 0 && !cancellationToken.IsCancellationRequested)
            {
                await Say(progress, $"warmup: {warmupRecords:N0} records...").ConfigureAwait(false);
                var warmup = await new IngestRunner(client, o.Concurrency, o.Retries, null).RunAsync(warmupBatches, null, cancellationToken).ConfigureAwait(false);
                report.Warmup = PhaseReport.From(warmup);
                acked.AddRange(warmup.Acked);
                failed.AddRange(warmup.Failed);
            }

            // 3. The timed ingest.
            if ((o.Duration is not null || o.Records > 0) && !cancellationToken.IsCancellationRequested)
            {
                await Say(progress, o.Duration is { } d
                    ? $"ingest: {d.TotalSeconds:0.###} s, batch {o.Batch}, {o.Concurrency} in flight, {o.Consistency.ToWire()}..."
                    : $"ingest: {o.Records:N0} records, batch {o.Batch}, {o.Concurrency} in flight, {o.Consistency.ToWire()}...").ConfigureAwait(false);
                var ingest = await new IngestRunner(client, o.Concurrency, o.Retries, progress).RunAsync(timed, o.Duration, cancellationToken).ConfigureAwait(false);
                report.Ingest = PhaseReport.From(ingest);
                acked.AddRange(ingest.Acked);
                failed.AddRange(ingest.Failed);
            }
        }
        finally
        {
            if (streaming is not null)
            {
                var stats = await streaming.StopAsync().ConfigureAwait(false);
                report.Generator = GeneratorReport.From(stats, streaming.Stalls);
                await streaming.DisposeAsync().ConfigureAwait(false);
            }
        }

        // 4. Queries: the ERROR look-ups a dashboard makes.
        if (o.Queries > 0 && !cancellationToken.IsCancellationRequested)
        {
            await Say(progress, $"queries: {o.Queries:N0}, {o.QueryConcurrency} in flight, {o.QueryConsistency.ToWire()}...").ConfigureAwait(false);
            var runner = new QueryRunner(client, generator.Sources, o.QueryLimit, o.QueryConsistency, settings.Seed);
            var stats = await runner.RunAsync(o.Queries, o.QueryConcurrency, warmup: Math.Min(o.Queries, o.QueryConcurrency), cancellationToken).ConfigureAwait(false);
            report.Queries = stats.Select(QueryReport.From).ToList();
        }

        // 5. Verify: every acked ERROR record readable through every coordinator, and nothing else of this run.
        if (o.Verify && !cancellationToken.IsCancellationRequested)
        {
            await Say(progress, $"verify: ERROR records of {o.Sources} source(s) through {o.Nodes.Count} node(s)...").ConfigureAwait(false);
            var sent = acked.Concat(failed).ToList();
            var last = sent.Count == 0 ? 0 : sent.Max(b => b.FirstSequence + b.Count - 1);
            var verifier = new Verifier(client, generator, o.VerifyPageSize, Consistency.Quorum);
            var nodes = await verifier.RunAsync(acked, failed, 0, last, cancellationToken).ConfigureAwait(false);
            report.Verify = new VerifyReport(nodes.TrueForAll(n => n.Ok), Consistency.Quorum.ToWire(),
                acked.Sum(b => (long)b.Errors.Length), nodes.Select(NodeVerifyReport.From).ToList());
        }

        return await FinishAsync(report, o, stdout, stderr, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<RunReport> FinishAsync(RunReport report, LoadGenOptions o, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var requestErrors = (report.Warmup?.Errors.Count ?? 0) + (report.Ingest?.Errors.Count ?? 0) + (report.Queries?.Sum(q => q.Errors.Count) ?? 0);
        report.ExitCode = cancellationToken.IsCancellationRequested ? ExitCancelled
            : report.Verify is { Ok: false } ? ExitVerifyFailed
            : requestErrors > 0 ? ExitRequestErrors
            : ExitOk;

        await stdout.WriteAsync(ReportTable.Render(report)).ConfigureAwait(false);
        if (o.JsonPath is not null)
        {
            try
            {
                var directory = Path.GetDirectoryName(Path.GetFullPath(o.JsonPath));
                if (!string.IsNullOrEmpty(directory))
                    Directory.CreateDirectory(directory);
                await File.WriteAllTextAsync(o.JsonPath, report.ToJson() + "\n", CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await stderr.WriteLineAsync($"error: could not write {o.JsonPath}: {e.Message}").ConfigureAwait(false);
            }
        }

        await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        return report;
    }

    private static Task Say(TextWriter? progress, string line) => progress is null ? Task.CompletedTask : progress.WriteLineAsync(line);
}
