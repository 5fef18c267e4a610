using System.Diagnostics.Metrics;
using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Storage.Tests;

/// <summary>The records of the frozen files (TestData/format-vN), and how they were written (shared with the tool that writes them).</summary>
public static class FrozenRecords
{
    public static readonly DateTimeOffset WrittenAt = new(2026, 11, 26, 15, 40, 0, TimeSpan.Zero);

    /// <summary>The hour 14:00 bucket is sealed, 15:00 is a plain log segment.</summary>
    public static readonly LogRecord[] Expected =
    [
        new("0190c3e4-0000-7000-8000-000000000001", new DateTimeOffset(2026, 11, 26, 14, 5, 0, TimeSpan.Zero).AddTicks(1), LogSeverity.Trace, "checkout", "cart opened"),
        new("0190c3e4-0000-7000-8000-000000000002", new DateTimeOffset(2026, 11, 26, 14, 10, 0, TimeSpan.Zero), LogSeverity.Debug, "checkout", "price computed",
            new Dictionary<string, string> { ["currency"] = "EUR", ["items"] = "3" }),
        new("0190c3e4-0000-7000-8000-000000000003", new DateTimeOffset(2026, 11, 26, 14, 10, 0, TimeSpan.Zero), LogSeverity.Info, "checkout", "order placed"),
        new("client-id-ü", new DateTimeOffset(2026, 11, 26, 14, 59, 59, TimeSpan.Zero).AddTicks(9_999_999), LogSeverity.Warn, "checkout", "slow payment: 2.3 s 🐢"),
        new("0190c3e4-0000-7000-8000-000000000005", new DateTimeOffset(2026, 11, 26, 15, 0, 0, TimeSpan.Zero), LogSeverity.Error, "checkout", "payment declined",
            new Dictionary<string, string> { ["code"] = "51", ["psp"] = "acme" }),
        new("0190c3e4-0000-7000-8000-000000000006", new DateTimeOffset(2026, 11, 26, 15, 30, 0, TimeSpan.Zero), LogSeverity.Fatal, "checkout", ""),
    ];

    public static StorageOptions Options => new() { SealedBlockBytes = 4096 };

    /// <summary>
    /// Appends <see cref="Expected"/> one by one to a new store at <paramref name="path"/>, then, once the store has been
    /// quiet for the seal grace, runs maintenance once.
    /// </summary>
    public static async Task WriteAsync(string path, IMeterFactory meters)
    {
        var time = new FakeTimeProvider(WrittenAt);
        await using var store = new SegmentLogStore(path, Options, time, new StorageMetrics(meters));
        await store.OpenAsync();
        foreach (var record in Expected)
            await store.AppendAsync([record]);
        time.Advance(Options.SealGrace);
        await store.RunMaintenanceAsync();
    }
}
