using BenchmarkDotNet.Attributes;
using LogStream.Benchmarks.Storage;
using LogStream.Node.Replication.Hints;
using LogStream.Storage;

namespace LogStream.Benchmarks.Hints;

/// <summary>
/// Durable <see cref="HintLog.StoreAsync"/> throughput on the real disk (the temp folder, not tmpfs: the fdatasync is
/// the cost that matters). One operation: <see cref="Writers"/> concurrent writers each store
/// <see cref="StoresPerWriter"/> times, one after another, <see cref="RecordsPerStore"/> records (~250 bytes) per store,
/// so writers keep arriving while a group commit runs, as coordinators do while a replica is down.
/// Records per second = Writers × StoresPerWriter × RecordsPerStore / Mean.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class HintStoreBenchmarks
{
    public const int StoresPerWriter = 16;

    private HintLog _log = null!;
    private string _directory = null!;
    private LogRecord[][] _batches = null!;
    private long _stores;

    [Params(1, 64)]
    public int Writers { get; set; }

    [Params(1, 100)]
    public int RecordsPerStore { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _batches = [.. Enumerable.Range(0, Writers).Select(w => Enumerable.Range(0, RecordsPerStore).Select(i => BenchData.Record(w * 1000 + i)).ToArray())];
        _directory = Path.Combine(Path.GetTempPath(), "logstream-bench-hints-" + Guid.NewGuid().ToString("N"));
        _log = new HintLog(_directory, new HintOptions(), TimeProvider.System, new HintMetrics(BenchData.MeterFactory));
        await _log.OpenAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        // In the benchmark's log: how well group commit shared the fsyncs.
        Console.WriteLine($"// hint stores: {_stores}, fsync rounds: {_log.CommitRounds}, stores per fsync: {(double)_stores / Math.Max(1, _log.CommitRounds):N1}");
        await _log.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public Task Store() => Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
    {
        for (var n = 0; n < StoresPerWriter; n++)
        {
            await _log.StoreAsync("node-1", _batches[w], default);
            Interlocked.Increment(ref _stores);
        }
    })));
}
