using BenchmarkDotNet.Attributes;
using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Benchmarks.Storage;

/// <summary>
/// One writer appending to a store on tmpfs in fsync mode (fsync is free there, so this is the CPU and allocation cost
/// of the write path). Allocation per record of the store = (Append - BuildRecordsOnly) / BatchSize.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class StorageAppendBenchmarks
{
    private SegmentLogStore _store = null!;
    private string _directory = null!;
    private readonly LogRecord[] _batch = new LogRecord[100];
    private long _next;

    [Params(1, 100)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _directory = Path.Combine(root, "logstream-bench-append-" + Guid.NewGuid().ToString("N"));
        _store = new SegmentLogStore(_directory, new StorageOptions(), new FakeTimeProvider(BenchData.Base.AddHours(12)), new StorageMetrics(BenchData.MeterFactory));
        await _store.OpenAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private LogRecord[] Build()
    {
        var records = BatchSize == _batch.Length ? _batch : new LogRecord[BatchSize];
        for (var i = 0; i < BatchSize; i++)
        {
            var n = _next++;
            records[i] = BenchData.Record(n, BenchData.Base.AddTicks(n));
        }
        return records;
    }

    [Benchmark(Baseline = true)]
    public LogRecord[] BuildRecordsOnly() => Build();

    [Benchmark]
    public async Task<int> Append() => (await _store.AppendAsync(Build())).Added;
}
