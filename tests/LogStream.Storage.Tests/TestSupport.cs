using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LogStream.Node.Diagnostics;
using LogStream.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Storage.Tests;

/// <summary>A fresh folder per test, deleted afterwards. On tmpfs when asked (fsync is free there).</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(bool memory = false)
    {
        var root = memory && Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(root, "logstream-storage-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>Records every observer call, thread-safe.</summary>
public sealed class RecordingObserver : IStorageObserver
{
    public ConcurrentQueue<(BucketKey Bucket, MerkleLeaves Leaves)> Loaded { get; } = new();
    public ConcurrentQueue<(BucketKey Bucket, RecordDigest[] Records)> Appended { get; } = new();
    public ConcurrentQueue<(BucketKey Bucket, RecordDigest[] Records)> Removed { get; } = new();
    public ConcurrentQueue<BucketKey> Dropped { get; } = new();
    public ConcurrentQueue<CorruptionReport> Corruptions { get; } = new();

    public void OnBucketLoaded(BucketKey bucket, MerkleLeaves leaves) => Loaded.Enqueue((bucket, leaves));
    public void OnAppended(BucketKey bucket, ReadOnlySpan<RecordDigest> added) => Appended.Enqueue((bucket, added.ToArray()));
    public void OnRemoved(BucketKey bucket, ReadOnlySpan<RecordDigest> removed) => Removed.Enqueue((bucket, removed.ToArray()));
    public void OnBucketDropped(BucketKey bucket) => Dropped.Enqueue(bucket);
    public void OnCorruption(CorruptionReport report) => Corruptions.Enqueue(report);
}

/// <summary>Sums the storage meter's measurements, per instrument name.</summary>
public sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _sums = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public MetricRecorder(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StorageInstrumentNames.Meter && instrument.Meter.Scope == factory)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Add(instrument.Name, value));
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Add(instrument.Name, value));
        _listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => Add(instrument.Name, value));
        _listener.Start();
    }

    public double Sum(string instrument) => _sums.GetValueOrDefault(instrument);

    public long Count(string instrument) => _counts.GetValueOrDefault(instrument);

    public double Observe(string instrument)
    {
        _sums.TryRemove(instrument, out _);
        _listener.RecordObservableInstruments();
        return Sum(instrument);
    }

    private void Add(string name, double value)
    {
        _sums.AddOrUpdate(name, value, (_, old) => old + value);
        _counts.AddOrUpdate(name, 1, (_, old) => old + 1);
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>Opens stores on one folder, as a node restarting would; each with its own meters and observer.</summary>
public sealed class StoreHarness : IAsyncDisposable
{
    private readonly List<SegmentLogStore> _opened = [];

    public StoreHarness(StorageOptions? options = null, bool memory = false, DateTimeOffset? start = null)
    {
        Directory = new TempDirectory(memory);
        Options = options ?? new StorageOptions();
        Time = new FakeTimeProvider(start ?? new DateTimeOffset(2026, 11, 26, 15, 30, 0, TimeSpan.Zero));
        MeterFactory = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        Metrics = new MetricRecorder(MeterFactory);
    }

    public TempDirectory Directory { get; }

    public string Path => Directory.Path;

    public StorageOptions Options { get; }

    public FakeTimeProvider Time { get; }

    public IMeterFactory MeterFactory { get; }

    public MetricRecorder Metrics { get; }

    public RecordingObserver Observer { get; private set; } = new();

    public SegmentLogStore? Store { get; private set; }

    public async Task<SegmentLogStore> OpenAsync()
    {
        Observer = new RecordingObserver();
        var store = new SegmentLogStore(Path, Options, Time, new StorageMetrics(MeterFactory), observers: [Observer]);
        _opened.Add(store);
        await store.OpenAsync();
        Store = store;
        return store;
    }

    public async Task<SegmentLogStore> ReopenAsync()
    {
        if (Store is not null)
            await Store.DisposeAsync();
        return await OpenAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _opened)
            await store.DisposeAsync();
        Metrics.Dispose();
        Directory.Dispose();
    }
}

public static class Records
{
    public static readonly DateTimeOffset Base = new(2026, 11, 26, 15, 0, 0, TimeSpan.Zero);

    public static LogRecord Make(string id, DateTimeOffset? timestamp = null, LogSeverity level = LogSeverity.Info, string source = "checkout",
        string? message = null, IEnumerable<KeyValuePair<string, string>>? attributes = null) =>
        new(id, timestamp ?? Base.AddMinutes(1), level, source, message ?? $"message of {id}", attributes);

    public static async Task<List<LogRecord>> ToListAsync(this IAsyncEnumerable<LogRecord> records)
    {
        var list = new List<LogRecord>();
        await foreach (var record in records)
            list.Add(record);
        return list;
    }

    public static async Task<List<LogRecord>> ReadEverythingAsync(this ILogStore store)
    {
        var all = new List<LogRecord>();
        foreach (var bucket in store.ListBuckets())
            all.AddRange(await store.ReadBucketAsync(bucket.Key).ToListAsync());
        return all;
    }

    /// <summary>The id hash of a record id.</summary>
    public static ulong Hash(string id) => RecordIdHash.Of(id);

    /// <summary>The digests of records, ordered by id hash (what digest listings are compared as).</summary>
    public static List<RecordDigest> DigestsOf(IEnumerable<LogRecord> records) => records.Select(RecordDigest.Of).OrderBy(d => d.IdHash).ToList();

    /// <summary>The Merkle leaves a bucket holding exactly these records has.</summary>
    public static MerkleLeaves LeavesOf(IEnumerable<LogRecord> records)
    {
        var leaves = new MerkleLeaves();
        foreach (var digest in records.Select(RecordDigest.Of))
            leaves.Add(digest.IdHash, digest.ContentHash);
        return leaves;
    }

    public static void AssertSameLeaves(MerkleLeaves expected, MerkleLeaves actual)
    {
        Assert.Equal(expected.Records, actual.Records);
        Assert.Equal(expected.Hashes.ToArray(), actual.Hashes.ToArray());
        Assert.Equal(expected.Counts.ToArray(), actual.Counts.ToArray());
    }

    /// <summary>The single segment file of a bucket folder with this extension.</summary>
    public static string SegmentFile(string root, string extension) =>
        Directory.EnumerateFiles(root, "*" + extension, SearchOption.AllDirectories).Single();
}
