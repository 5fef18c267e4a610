using System.Diagnostics;
using LogStream.LoadGen.Generation;
using LogStream.LoadGen.Measurement;

namespace LogStream.LoadGen.Ingest;

/// <summary>Counters of one phase, merged from the senders' own (so the hot path shares nothing but one progress counter).</summary>
public sealed class IngestStats
{
    /// <summary>End-to-end latency of each acknowledged request (retries included), µs.</summary>
    public LatencyHistogram Latency { get; } = new();

    public long Requests { get; set; }

    public long RequestsOk { get; set; }

    public long RecordsSent { get; set; }

    public long RecordsAcked { get; set; }

    /// <summary>Bytes of request bodies, every attempt counted.</summary>
    public long BytesSent { get; set; }

    /// <summary>Attempts repeated after a transient failure, by the failure's key.</summary>
    public Dictionary<string, long> Retries { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests that finally failed, by status code ("503") or transport error ("connection_refused").</summary>
    public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>200 replies whose <c>accepted</c> differed from the records sent (or was missing).</summary>
    public long AcceptedMismatches { get; set; }

    /// <summary>First lines of a few error bodies, to say why (problem details name the record and field).</summary>
    public List<string> ErrorSamples { get; } = [];

    public TimeSpan Elapsed { get; set; }

    /// <summary>Batches whose write was acknowledged: their ERROR records must be readable afterwards.</summary>
    public List<SentBatch> Acked { get; } = [];

    /// <summary>Batches whose write failed: their records may or may not have landed (DESIGN §5).</summary>
    public List<SentBatch> Failed { get; } = [];

    public void Add(IngestStats other)
    {
        Latency.Add(other.Latency);
        Requests += other.Requests;
        RequestsOk += other.RequestsOk;
        RecordsSent += other.RecordsSent;
        RecordsAcked += other.RecordsAcked;
        BytesSent += other.BytesSent;
        AcceptedMismatches += other.AcceptedMismatches;
        foreach (var (key, count) in other.Errors)
            Errors[key] = Errors.GetValueOrDefault(key) + count;
        foreach (var (key, count) in other.Retries)
            Retries[key] = Retries.GetValueOrDefault(key) + count;
        foreach (var sample in other.ErrorSamples)
        {
            if (ErrorSamples.Count < 5)
                ErrorSamples.Add(sample);
        }

        Acked.AddRange(other.Acked);
        Failed.AddRange(other.Failed);
    }
}

/// <summary>
/// Closed-loop ingest: <c>concurrency</c> senders, each with one request in flight, take the next prepared batch and
/// POST it to the next coordinator. With a deadline (--duration) the senders stop taking batches when it passes.
/// </summary>
public sealed class IngestRunner(LogApiClient client, int concurrency, int retries, TextWriter? progress)
{
    private long _ackedRecords;

    public async Task<IngestStats> RunAsync(IBatchSource source, TimeSpan? duration, CancellationToken cancellationToken)
    {
        using var stopAtDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var started = Stopwatch.GetTimestamp();
        if (duration is { } d)
            stopAtDeadline.CancelAfter(d);

        using var progressStop = new CancellationTokenSource();
        var reporter = progress is null ? Task.CompletedTask : ReportProgressAsync(progress, started, progressStop.Token);

        var senders = new Task<IngestStats>[concurrency];
        for (var i = 0; i < senders.Length; i++)
            senders[i] = Task.Run(() => SendLoopAsync(source, stopAtDeadline.Token, cancellationToken), CancellationToken.None);
        var results = await Task.WhenAll(senders).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);

        await progressStop.CancelAsync().ConfigureAwait(false);
        await reporter.ConfigureAwait(false);

        var total = new IngestStats { Elapsed = elapsed };
        foreach (var result in results)
            total.Add(result);
        return total;
    }

    // takeToken stops taking new batches (deadline or Ctrl+C); requests already sent finish unless the run is cancelled.
    private async Task<IngestStats> SendLoopAsync(IBatchSource source, CancellationToken takeToken, CancellationToken runToken)
    {
        var stats = new IngestStats();
        while (!takeToken.IsCancellationRequested)
        {
            var batch = await source.NextAsync(takeToken).ConfigureAwait(false);
            if (batch is null)
                break;

            var started = Stopwatch.GetTimestamp();
            ExchangeResult result;
            var attempt = 0;
            while (true)
            {
                result = await client.PostAsync(client.NextNode(), batch.Payload, runToken).ConfigureAwait(false);
                stats.BytesSent += batch.Payload.Length;
                if (result.Success || !result.Transient || attempt >= retries || runToken.IsCancellationRequested)
                    break;
                attempt++;
                stats.Retries[result.ErrorKey!] = stats.Retries.GetValueOrDefault(result.ErrorKey!) + 1;
                // The next attempt goes to the next coordinator; a short jittered pause lets a struggling one breathe.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 20 << Math.Min(attempt, 6)) * (0.5 + Random.Shared.NextDouble())), runToken)
                        .ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            stats.Requests++;
            stats.RecordsSent += batch.Count;
            if (result.Success)
            {
                stats.Latency.Record(elapsed);
                stats.RequestsOk++;
                stats.RecordsAcked += batch.Count;
                stats.Acked.Add(batch.ToSent());
                if (LogApiClient.ReadAccepted(result.Body) != batch.Count)
                    stats.AcceptedMismatches++;
                Interlocked.Add(ref _ackedRecords, batch.Count);
            }
            else
            {
                stats.Errors[result.ErrorKey!] = stats.Errors.GetValueOrDefault(result.ErrorKey!) + 1;
                stats.Failed.Add(batch.ToSent());
                if (stats.ErrorSamples.Count < 5 && result.Body is { Length: > 0 } body)
                    stats.ErrorSamples.Add($"{result.Status}: {Describe(body)}");
            }
        }

        return stats;
    }

    internal static string Describe(byte[] body)
    {
        var text = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 400)).ReplaceLineEndings(" ");
        return body.Length > 400 ? text + "..." : text;
    }

    private async Task ReportProgressAsync(TextWriter progress, long started, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        long last = 0;
        var lastTime = started;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = Stopwatch.GetTimestamp();
                var acked = Interlocked.Read(ref _ackedRecords);
                var rate = (acked - last) / Stopwatch.GetElapsedTime(lastTime, now).TotalSeconds;
                await progress.WriteLineAsync(
                    $"  [{Stopwatch.GetElapsedTime(started, now).TotalSeconds,5:F0} s] {acked,12:N0} records acked, {rate,10:N0} records/s").ConfigureAwait(false);
                last = acked;
                lastTime = now;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
