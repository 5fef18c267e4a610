using System.Diagnostics;
using System.Collections.Concurrent;

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
/// For --duration: one background thread serializes batches into a queue while the senders drain it. The queue holds
/// up to <c>capacity</c> batches; the producer sleeps when it is full and is woken only when it has drained to half,
/// so it refills in bulk instead of waking once per batch. A sender that finds the queue empty counts a stall: then
/// the generator, not the cluster, was the bottleneck (the report says how often).
/// </summary>
public sealed class StreamingBatches : IBatchSource, IAsyncDisposable
{
    private readonly ConcurrentQueue<GeneratedBatch> _queue = new();
    private readonly SemaphoreSlim _items = new(0);
    private readonly SemaphoreSlim _room = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _producer;
    private readonly GeneratorScratch _scratch;
    private readonly int _capacity;
    private readonly int _lowWater;
    private int _queued;
    private long _stalls;
    private long _produceTicks;

    public StreamingBatches(RecordGenerator generator, long firstSequence, int batchSize, int capacity)
    {
        _capacity = Math.Max(2, capacity);
        _lowWater = _capacity / 2;
        _scratch = new GeneratorScratch(generator.Settings.MessageBytes);
        _producer = Task.Factory.StartNew(() => Produce(generator, firstSequence, batchSize), TaskCreationOptions.LongRunning);
    }

    /// <summary>
    /// A queue of about 256 k records (~64 MB at 250 bytes), and at least four batches per sender: a cushion of a
    /// second or more at the rates this tool measures, while the producer fills it at its own pace.
    /// </summary>
    public static int CapacityFor(int batchSize, int concurrency) =>
        Math.Max(4 * concurrency, (int)Math.Min(int.MaxValue, (262_144L + batchSize - 1) / batchSize));

    /// <summary>Times a sender had to wait for the generator.</summary>
    public long Stalls => Interlocked.Read(ref _stalls);

    public async ValueTask<GeneratedBatch?> NextAsync(CancellationToken cancellationToken)
    {
        if (!_items.Wait(0))
        {
            Interlocked.Increment(ref _stalls);
            try
            {
                await _items.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        _queue.TryDequeue(out var batch);
        if (Interlocked.Decrement(ref _queued) == _lowWater)
            _room.Release();
        return batch;
    }

    /// <summary>Waits until the queue is full, so that the timed phase starts with batches ready.</summary>
    public async Task WaitFilledAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _queued) < _capacity && !_producer.IsCompleted)
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the producer and returns what it generated (including batches left in the queue).</summary>
    public async Task<GeneratorStats> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _producer.ConfigureAwait(false);
        var stats = new GeneratorStats
        {
            Threads = 1,
            Elapsed = TimeSpan.FromTicks((long)(Interlocked.Read(ref _produceTicks) * ((double)TimeSpan.TicksPerSecond / Stopwatch.Frequency))),
        };
        stats.Add(_scratch);
        return stats;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
        _items.Dispose();
        _room.Dispose();
    }

    private void Produce(RecordGenerator generator, long sequence, int batchSize)
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (Volatile.Read(ref _queued) >= _capacity)
                {
                    // Full: the senders are the bottleneck, as they should be. Sleep until they drained half.
                    _room.Wait(token);
                    continue;
                }

                var started = Stopwatch.GetTimestamp();
                var batch = generator.Generate(sequence, batchSize, _scratch);
                Interlocked.Add(ref _produceTicks, Stopwatch.GetTimestamp() - started);
                sequence += batchSize;
                _queue.Enqueue(batch);
                Interlocked.Increment(ref _queued);
                _items.Release();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
