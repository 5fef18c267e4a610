using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogStream.Storage;

/// <summary>
/// The segment store: per (partition, bucket) a folder of append-only <c>*.log</c> segments and, once the bucket's
/// window has passed, one compressed, indexed <c>*.sealed</c> segment (plus <c>*.log</c> ones for late records).
/// Memory holds 20 bytes and an id-table slot per record of a log segment, and nothing per record of a sealed one.
/// Split by concern: appends (<c>.Append.cs</c>), reads (<c>.Query.cs</c>), start-up recovery (<c>.Recovery.cs</c>),
/// sealing, retention and rewrites (<c>.Maintenance.cs</c>). See docs/storage.md and docs/storage-format.md.
/// </summary>
public sealed partial class SegmentLogStore : ILogStore, IAsyncDisposable, IDisposable
{
    private readonly StorageOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly StorageMetrics _metrics;
    private readonly ILogger _logger;
    private readonly IStorageObserver[] _observers;
    private readonly GroupCommitter _committer;
    private readonly SegmentContext _context;
    private readonly ConcurrentDictionary<BucketKey, Bucket> _buckets = new();
    private readonly ConcurrentDictionary<BucketKey, byte> _needsScrub = new();
    private readonly ConcurrentDictionary<BucketKey, byte> _needsMigration = new();
    private readonly SemaphoreSlim _openGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CorruptionSink _readCorruption;
    private Task? _intervalSync;
    private volatile bool _open;
    private volatile bool _disposed;

    public SegmentLogStore(string directory, StorageOptions options, TimeProvider timeProvider, StorageMetrics metrics,
        ILogger<SegmentLogStore>? logger = null, IEnumerable<IStorageObserver>? observers = null)
        : this(directory, options, timeProvider, metrics, logger, observers, idHasher: null)
    {
    }

    /// <param name="idHasher">Replaces <see cref="RecordIdHash"/> everywhere in this store (tests force hash collisions with it).</param>
    internal SegmentLogStore(string directory, StorageOptions options, TimeProvider timeProvider, StorageMetrics metrics,
        ILogger<SegmentLogStore>? logger, IEnumerable<IStorageObserver>? observers, IdHasher? idHasher)
    {
        Directory = Path.GetFullPath(directory);
        _options = options;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger ?? NullLogger<SegmentLogStore>.Instance;
        _observers = observers?.ToArray() ?? [];
        Partitioner = new Partitioner(options.ParsedPartitioning, options.BucketWidth);
        _committer = new GroupCommitter(metrics.Committed, timeProvider, options.IntervalDurability, options.FsyncInterval);
        _context = new SegmentContext(metrics, new SealedIndexCache(options.IndexCacheBytes), idHasher ?? RecordIdHash.Of);
        _readCorruption = OnReadCorruption;
        metrics.Attach(Totals, Memory);
    }

    /// <summary>The <c>segments</c> folder.</summary>
    public string Directory { get; }

    public Partitioner Partitioner { get; }

    /// <summary>The store's metrics (tests read <see cref="StorageMetrics.BlocksRead"/>).</summary>
    internal StorageMetrics Metrics => _metrics;

    /// <summary>What start-up recovery found (null before <see cref="OpenAsync"/>).</summary>
    public RecoveryReport? Recovery { get; private set; }

    /// <summary>True after an fsync failure: the store refuses writes until restarted (health reports it).</summary>
    public bool Failed => _committer.Failure is not null;

    /// <summary>
    /// Recovers every bucket (torn tails truncated, corrupt regions reported and rewritten away, leftovers of
    /// interrupted rewrites removed), then tells the observers what is held. Reads no record of a sealed segment.
    /// Idempotent.
    /// </summary>
    public async Task OpenAsync(CancellationToken cancellationToken = default)
    {
        await _openGate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open)
                return;
            System.IO.Directory.CreateDirectory(Directory);
            var report = new RecoveryReport();
            // Files are grouped by the bucket their headers name, across folders: a bucket whose folder name changed
            // (a long partition key, now cut and hashed) has files in its old folder and its new one.
            var files = new List<SegmentFile>();
            var partitionDirectories = new List<string>();
            foreach (var partitionDirectory in System.IO.Directory.EnumerateDirectories(Directory))
            {
                if (Path.GetFileName(partitionDirectory).StartsWith(SegmentFormat.DroppingPrefix, StringComparison.Ordinal))
                {
                    System.IO.Directory.Delete(partitionDirectory, recursive: true);
                    continue;
                }
                partitionDirectories.Add(partitionDirectory);
                foreach (var bucketDirectory in System.IO.Directory.EnumerateDirectories(partitionDirectory))
                    files.AddRange(ScanBucketDirectory(bucketDirectory, report));
            }
            foreach (var group in files.GroupBy(f => (f.Header.Partition, f.Header.BucketTicks)))
                await RecoverBucketAsync([.. group], report);
            foreach (var partitionDirectory in partitionDirectories)
            {
                foreach (var bucketDirectory in System.IO.Directory.EnumerateDirectories(partitionDirectory))
                    TryDeleteEmptyDirectory(bucketDirectory);
                TryDeleteEmptyDirectory(partitionDirectory);
            }

            foreach (var bucket in _buckets.Values)
            {
                var leaves = bucket.LoadedLeaves ?? new MerkleLeaves();
                bucket.LoadedLeaves = null;
                Notify(o => o.OnBucketLoaded(bucket.Key, leaves));
            }
            Recovery = report;
            LogOpened(Directory, _buckets.Count, report.Records, report.Truncations, report.CorruptRegions);
            if (_options.IntervalDurability)
                _intervalSync = RunIntervalSyncAsync(_stopping.Token);
            _open = true;
        }
        finally
        {
            _openGate.Release();
        }
    }

    /// <summary>What the store's structures hold in memory now (see <see cref="StorageMemory"/>).</summary>
    public StorageMemory Memory()
    {
        long idTables = 0, recordEntries = 0, sealedIndexes = 0, openRecords = 0;
        int openBuckets = 0;
        foreach (var bucket in _buckets.Values)
        {
            var open = false;
            foreach (var segment in bucket.Segments)
            {
                if (segment.IsSealed)
                    sealedIndexes += segment.MemoryBytes;
                else
                {
                    recordEntries += segment.MemoryBytes;
                    openRecords += segment.RecordCount;
                    open = true;
                }
            }
            idTables += bucket.Open.Bytes;
            if (open)
                openBuckets++;
        }
        return new StorageMemory(idTables, recordEntries, sealedIndexes, _context.Cache.Bytes, _context.Cache.CapacityBytes, openBuckets, openRecords);
    }

    private Bucket NewBucket(BucketKey key, long widthTicks)
    {
        var ticks = UnixTicks.From(key.Bucket);
        var directory = Path.Combine(Directory, SegmentFormat.PartitionDirectoryName(key.Partition), SegmentFormat.BucketDirectoryName(ticks));
        var bucket = new Bucket(key, ticks, widthTicks, directory);
        bucket.ReplaceOpen(NewOpenIndex());
        return bucket;
    }

    private OpenIndex NewOpenIndex() => new(_metrics.IndexGrew);

    private void EnsureDirectory(Bucket bucket)
    {
        if (!System.IO.Directory.Exists(bucket.Directory))
            DurableFiles.CreateDirectory(bucket.Directory);
    }

    private void Notify(Action<IStorageObserver> call)
    {
        foreach (var observer in _observers)
        {
            try
            {
                call(observer);
            }
            catch (Exception ex)
            {
                LogObserverFailed(ex, observer.GetType().Name);
            }
        }
    }

    private (long Segments, long DiskBytes, long Records) Totals()
    {
        long segments = 0, bytes = 0, records = 0;
        foreach (var bucket in _buckets.Values)
        {
            var s = bucket.Segments;
            segments += s.Length;
            foreach (var segment in s)
            {
                bytes += segment.FileBytes;
                records += segment.RecordCount;
            }
        }
        return (segments, bytes, records);
    }

    private async Task RunIntervalSyncAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.FsyncInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await _committer.FlushAsync();
                }
                catch (IOException ex)
                {
                    LogFsyncFailed(ex);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void ThrowIfNotOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_open)
            throw new InvalidOperationException("The log store is not open yet: call OpenAsync (the storage hosted service does it at start-up).");
    }

    private void ThrowIfFailed()
    {
        if (_committer.Failure is { } failure)
            throw new IOException("The store stopped accepting writes after an fsync failure; restart the node.", failure);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover is recognised at the next start-up (older sequence than a replacing segment).
        }
    }

    private static void TryDeleteEmptyDirectory(string path)
    {
        try
        {
            if (System.IO.Directory.Exists(path) && !System.IO.Directory.EnumerateFileSystemEntries(path).Any())
                System.IO.Directory.Delete(path);
        }
        catch (IOException)
        {
            // Raced with a new bucket; harmless.
        }
    }

    /// <summary>Makes everything written durable, then closes every file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await _stopping.CancelAsync();
        if (_intervalSync is not null)
            await _intervalSync;
        if (_open)
        {
            try
            {
                await _committer.FlushAsync();
            }
            catch (IOException ex)
            {
                LogFsyncFailed(ex);
            }
        }
        foreach (var bucket in _buckets.Values)
        {
            // Under the gate: an append still running finishes first, and one still waiting finds the store disposed
            // (the id table and the entries live in native memory, freed here).
            await bucket.Gate.WaitAsync();
            try
            {
                var segments = bucket.Segments;
                bucket.Segments = [];
                bucket.Active = null;
                bucket.ReplaceOpen(new OpenIndex());
                foreach (var segment in segments)
                    segment.Retire();
            }
            finally
            {
                bucket.Gate.Release();
            }
        }
        _buckets.Clear();
        _stopping.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    [LoggerMessage(Level = LogLevel.Information, Message = "Log store opened at {Directory}: {Buckets} buckets, {Records} records, {Truncations} torn tails truncated, {Corrupt} corrupt regions")]
    private partial void LogOpened(string directory, int buckets, long records, int truncations, int corrupt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Torn tail truncated: {Path} at offset {Offset} ({Bytes} bytes of an unfinished write removed)")]
    private partial void LogTornTail(string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Corrupt data in {Path} at offset {Offset} ({Length} bytes, {LostRecords} known records lost): {Reason}; reported for repair")]
    private partial void LogCorruption(string path, long offset, long length, int lostRecords, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Segment {Path} is unreadable ({Reason}); moved aside as *.corrupt, its records are re-fetched by repair")]
    private partial void LogQuarantined(string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed segment {Path}: it was created but never got a durable header")]
    private partial void LogEmptySegmentRemoved(string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed segment {Path}: replaced by a rewrite finished before the last stop")]
    private partial void LogObsoleteSegmentRemoved(string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sealed {Partition} bucket {Bucket}: {Records} records, {Bytes} bytes")]
    private partial void LogSealed(string partition, DateTimeOffset bucket, long records, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rewrote {Partition} bucket {Bucket} in the current sealed format ({Records} records)")]
    private partial void LogMigrated(string partition, DateTimeOffset bucket, long records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Partition} bucket {Bucket}")]
    private partial void LogDropped(string partition, DateTimeOffset bucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed {Count} records from {Partition} bucket {Bucket} on request")]
    private partial void LogRemoved(int count, string partition, DateTimeOffset bucket);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} records of {Partition} bucket {Bucket} were unreadable and are forgotten; repair re-fetches them")]
    private partial void LogLostRecords(long count, string partition, DateTimeOffset bucket);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage observer {Observer} failed")]
    private partial void LogObserverFailed(Exception ex, string observer);

    [LoggerMessage(Level = LogLevel.Critical, Message = "fsync failed: the log store refuses writes until the node restarts")]
    private partial void LogFsyncFailed(Exception ex);
}

/// <summary>What start-up recovery found.</summary>
public sealed class RecoveryReport
{
    public long Records { get; internal set; }

    public int Truncations { get; internal set; }

    public int CorruptRegions { get; internal set; }

    /// <summary>Sealed segments of an older format version, rewritten by maintenance.</summary>
    public int ToMigrate { get; internal set; }
}

/// <summary>What one maintenance tick did (<paramref name="VerifiedBytes"/>: sealed block bytes checked in the background).</summary>
public readonly record struct MaintenanceResult(int Sealed, int Dropped, int Scrubbed, int Migrated = 0, long VerifiedBytes = 0);

/// <summary>
/// What the store holds in memory, by structure: the id tables and record entries of log segments (per record), the
/// block indexes of sealed segments (per 64 KiB block), and the cache of sealed id-index fences (bounded).
/// </summary>
public readonly record struct StorageMemory(long IdTables, long RecordEntries, long SealedIndexes, long IndexCache, long IndexCacheCapacity,
    int OpenBuckets, long OpenRecords)
{
    public long Total => IdTables + RecordEntries + SealedIndexes + IndexCache;
}

/// <summary>Exposes a synchronous iterator as an async stream, checking cancellation between items.</summary>
internal sealed class SyncAsyncEnumerable<T>(IEnumerable<T> source, CancellationToken boundToken) : IAsyncEnumerable<T>
{
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new Enumerator(source.GetEnumerator(), boundToken, cancellationToken);

    private sealed class Enumerator(IEnumerator<T> inner, CancellationToken first, CancellationToken second) : IAsyncEnumerator<T>
    {
        public T Current => inner.Current;

        public ValueTask<bool> MoveNextAsync()
        {
            first.ThrowIfCancellationRequested();
            second.ThrowIfCancellationRequested();
            return ValueTask.FromResult(inner.MoveNext());
        }

        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
