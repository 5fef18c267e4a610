using System.Diagnostics.Metrics;
using LogStream.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Benchmarks.Storage;

/// <summary>Shared helpers: meters, a realistic ~250-byte record, the 1 M-record data sets (built once, reused).</summary>
internal static class BenchData
{
    public static readonly DateTimeOffset Base = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    public const int RecordCount = 1_000_000;
    public const int Sources = 10;

    public static IMeterFactory MeterFactory { get; } = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    /// <summary>Record i of the data set: 1% ERROR (every 100th), 24 h of timestamps, 10 sources (ERRORs spread over all), ~250 bytes encoded.</summary>
    public static LogRecord Record(long i, DateTimeOffset? timestamp = null)
    {
        var level = i % 100 == 0 ? LogSeverity.Error : (LogSeverity)(1 + i % 3);
        var message = level == LogSeverity.Error
            ? $"payment {i:D8} failed: gateway timeout after {i % 5000} ms; user=u{i % 9973} tenant=t{i % 97} region=eu-west-1 trace={i * 2654435761 % 1000000007:x12} retry={i % 3} queue=payments-{i % 7} code=504 pod=payments-7f9c8d6b5-x2k4q build=2026.11.3"
            : $"GET /api/v1/orders/{i % 100000} completed with status 200 after {i % 700} ms; user=u{i % 9973} tenant=t{i % 97} region=eu-west-1 trace={i * 2654435761 % 1000000007:x12} cache={(i % 2 == 0 ? "hit" : "miss")} pod=orders-7f9c8d6b5-x2k4q build=2026.11.3 agent=Mozilla/5.0";
        return new LogRecord($"{i:D12}", timestamp ?? Base.AddTicks(i * (TimeSpan.TicksPerDay / RecordCount)), level, $"service-{(i + i / 100) % Sources}", message);
    }

    /// <summary>Opens (building it the first time) a 1 M-record store in a fixed folder; sealed or all in unsealed segments.</summary>
    public static async Task<SegmentLogStore> OpenDataSetAsync(bool sealedBuckets)
    {
        var directory = Path.Combine(Path.GetTempPath(), "logstream-bench-1m-" + (sealedBuckets ? "sealed" : "unsealed"));
        var marker = Path.Combine(directory, "complete");
        // The clock stands inside the day for the unsealed set (nothing due), a day later for the sealed one.
        var time = new FakeTimeProvider(sealedBuckets ? Base.AddDays(2) : Base.AddHours(23));
        var options = new StorageOptions { Durability = "interval", Retention = TimeSpan.FromDays(30), BucketWidth = sealedBuckets ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1) };
        if (!File.Exists(marker))
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
            var build = new SegmentLogStore(Path.Combine(directory, "segments"), options, time, new StorageMetrics(MeterFactory));
            await build.OpenAsync();
            var batch = new List<LogRecord>(10_000);
            for (long i = 0; i < RecordCount; i++)
            {
                batch.Add(Record(i));
                if (batch.Count == batch.Capacity)
                {
                    await build.AppendAsync(batch);
                    batch.Clear();
                }
            }
            if (sealedBuckets)
                await build.RunMaintenanceAsync();
            await build.DisposeAsync();
            await File.WriteAllTextAsync(marker, "ok");
        }
        var store = new SegmentLogStore(Path.Combine(directory, "segments"), options, time, new StorageMetrics(MeterFactory));
        await store.OpenAsync();
        var buckets = store.ListBuckets();
        Console.WriteLine($"// data set {(sealedBuckets ? "sealed" : "unsealed")}: {buckets.Sum(b => b.Records):N0} records in {buckets.Count} buckets, " +
            $"{buckets.Sum(b => b.Bytes):N0} bytes on disk = {(double)buckets.Sum(b => b.Bytes) / buckets.Sum(b => b.Records):N1} bytes/record");
        return store;
    }
}
