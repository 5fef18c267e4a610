using BenchmarkDotNet.Attributes;
using LogStream.Storage;

namespace LogStream.Benchmarks.Storage;

/// <summary>Queries over 1 M stored records with 1% ERROR (issue 3: newest 100 ERROR p50 &lt; 5 ms; full scan count &lt; 300 ms).</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class StorageQueryBenchmarks
{
    private SegmentLogStore _store = null!;

    [Params(true, false)]
    public bool Sealed { get; set; }

    [GlobalSetup]
    public async Task SetupAsync() => _store = await BenchData.OpenDataSetAsync(Sealed);

    [GlobalCleanup]
    public async Task CleanupAsync() => await _store.DisposeAsync();

    [Benchmark]
    public async Task<int> Newest100Errors()
    {
        var count = 0;
        await foreach (var _ in _store.QueryAsync(new LogQuery { Level = LogSeverity.Error, Limit = 100 }))
            count++;
        return count;
    }

    /// <summary>Counts ERROR by reading every record that could be one (no statistics): decompress, check level, decode the message.</summary>
    [Benchmark]
    public async Task<long> FullScanCountErrors() =>
        await _store.CountAsync(new LogQuery { Level = LogSeverity.Error, Contains = "FAILED" });

    /// <summary>Streams every ERROR record out (10 000 decoded records).</summary>
    [Benchmark]
    public async Task<int> StreamAllErrors()
    {
        var count = 0;
        await foreach (var _ in _store.QueryAsync(new LogQuery { Level = LogSeverity.Error }))
            count++;
        return count;
    }

    /// <summary>Counts ERROR from block statistics (sealed) or the in-memory frame index (unsealed).</summary>
    [Benchmark]
    public async Task<long> CountErrorsFromIndex() => await _store.CountAsync(new LogQuery { Level = LogSeverity.Error });
}
