using System.Diagnostics;
using System.Threading.Channels;

namespace LogStream.LoadGen.Generation;

/// <summary>What the generator produced and how fast (the generator's own ceiling when measured by --dry-run).</summary>
public sealed class GeneratorStats
{
    public long Records { get; set; }

    public long Batches { get; set; }

    public long Bytes { get; set; }

    public TimeSpan Elapsed { get; set; }

    public int Threads { get; set; }

    public long[] LevelCounts { get; } = new long[Severities.Names.Length];

    public void Add(GeneratorScratch scratch)
    {
        Records += scratch.Records;
        Batches += scratch.Batches;
        Bytes += scratch.Bytes;
        for (var i = 0; i < LevelCounts.Length; i++)
            LevelCounts[i] += scratch.LevelCounts[i];
    }
}

/// <summary>Hands batches to the senders, one at a time, from any number of them at once.</summary>
public interface IBatchSource
{
    /// <summary>The next batch, or null when there are no more (or the run was cancelled).</summary>
    ValueTask<GeneratedBatch?> NextAsync(CancellationToken cancellationToken);
}

/// <summary>Batches serialized before the timed phase: the senders only pick up byte arrays.</summary>
public sealed class PregeneratedBatches : IBatchSource
{
    private readonly GeneratedBatch[] _batches;
    private long _next = -1;

    public PregeneratedBatches(GeneratedBatch[] batches) => _batches = batches;

    public IReadOnlyList<GeneratedBatch> Batches => _batches;

    public ValueTask<GeneratedBatch?> NextAsync(CancellationToken cancellationToken)
    {
        var index = Interlocked.Increment(ref _next);
        return new(index < _batches.Length && !cancellationToken.IsCancellationRequested ? _batches[index] : null);
    }

    /// <summary>
    /// Serializes <paramref name="records"/> records from <paramref name="firstSequence"/> on, in batches of
    /// <paramref name="batchSize"/>, on <paramref name="threads"/> threads. The bytes do not depend on the thread count.
    /// </summary>
    public static PregeneratedBatches Generate(RecordGenerator generator, long firstSequence, long records, int batchSize, int threads, GeneratorStats stats)
    {
        var count = checked((int)((records + batchSize - 1) / batchSize));
        var batches = new GeneratedBatch[count];
        var started = Stopwatch.GetTimestamp();
        var scratches = new System.Collections.Concurrent.ConcurrentBag<GeneratorScratch>();
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) },
            () => new GeneratorScratch(generator.Settings.MessageBytes),
            (i, _, scratch) =>
            {
                var first = firstSequence + ((long)i * batchSize);
                var size = (int)Math.Min(batchSize, firstSequence + records - first);
                batches[i] = generator.Generate(first, size, scratch);
                return scratch;
            },
            scratches.Add);
        stats.Elapsed += Stopwatch.GetElapsedTime(started);
        stats.Threads = Math.Max(stats.Threads, Math.Max(1, threads));
        foreach (var scratch in scratches)
            stats.Add(scratch);
        return new PregeneratedBatches(batches);
    }
}

/// <summary>
/// For --duration: one background thread serializes batches into a bounded queue while the senders drain it.
/// A sender that finds the queue empty counts a stall: then the generator, not the cluster, was the bottleneck.
/// </summary>
public sealed class StreamingBatches : IBatchSource, IAsyncDisposable
{
    private readonly Channel<GeneratedBatch> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _producer;
    private readonly GeneratorScratch _scratch;
    private long _stalls;
    private long _produceTicks;

    public StreamingBatches(RecordGenerator generator, long firstSequence, int batchSize, int capacity)
    {
        _queue = Channel.CreateBounded<GeneratedBatch>(new BoundedChannelOptions(Math.Max(2, capacity))
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _scratch = new GeneratorScratch(generator.Settings.MessageBytes);
        _producer = Task.Factory.StartNew(() => Produce(generator, firstSequence, batchSize), TaskCreationOptions.LongRunning);
    }

    /// <summary>Times a sender had to wait for the generator.</summary>
    public long Stalls => Interlocked.Read(ref _stalls);

    public async ValueTask<GeneratedBatch?> NextAsync(CancellationToken cancellationToken)
    {
        if (_queue.Reader.TryRead(out var batch))
            return batch;
        Interlocked.Increment(ref _stalls);
        try
        {
            return await _queue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>Waits until the queue is full (so the timed phase starts with batches ready).</summary>
    public async Task WaitFilledAsync(int count, CancellationToken cancellationToken)
    {
        while (_queue.Reader.Count < count && !_producer.IsCompleted)
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the producer and returns what it generated (including batches left in the queue).</summary>
    public async Task<GeneratorStats> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _producer.ConfigureAwait(false);
        var stats = new GeneratorStats { Threads = 1, Elapsed = TimeSpan.FromTicks((long)(Interlocked.Read(ref _produceTicks) * ((double)TimeSpan.TicksPerSecond / Stopwatch.Frequency))) };
        stats.Add(_scratch);
        return stats;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private void Produce(RecordGenerator generator, long sequence, int batchSize)
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                var batch = generator.Generate(sequence, batchSize, _scratch);
                _produceTicks += Stopwatch.GetTimestamp() - started;
                sequence += batchSize;
                while (!_queue.Writer.TryWrite(batch))
                {
                    // Full: the senders are the bottleneck, as they should be. Wait for room without spinning.
                    if (!_queue.Writer.WaitToWriteAsync(token).AsTask().GetAwaiter().GetResult())
                        return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
        }
    }
}
