using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Storage.Tests;

/// <summary>
/// Files written by format version 1, committed under TestData/format-v1, must be read by every later version.
/// Regenerate only for a new format version, into a new folder: set LOGSTREAM_WRITE_FROZEN_FORMAT=1 and run
/// <see cref="WriteFrozenFiles"/>.
/// </summary>
public class FrozenFormatTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "format-v1", "segments");

    /// <summary>The records in the frozen files: the hour 14:00 bucket is sealed, 15:00 is a plain log segment.</summary>
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

    private static StorageOptions Options => new() { SealedBlockBytes = 4096 };

    [Fact]
    public async Task FilesWrittenByFormatVersion1AreReadForever()
    {
        using var directory = new TempDirectory();
        CopyDirectory(Folder, directory.Path);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 15, 40, 0, TimeSpan.Zero));
        await using var store = new SegmentLogStore(directory.Path, Options, time, new StorageMetrics(new StoreHarness().MeterFactory));
        await store.OpenAsync();

        Assert.Equal(0, store.Recovery!.CorruptRegions);
        Assert.Equal(0, store.Recovery.Truncations);
        var buckets = store.ListBuckets();
        Assert.Equal([(new DateTimeOffset(2026, 11, 26, 14, 0, 0, TimeSpan.Zero), 4L, true), (new DateTimeOffset(2026, 11, 26, 15, 0, 0, TimeSpan.Zero), 2L, false)],
            buckets.Select(b => (b.Bucket, b.Records, b.Sealed)));
        Assert.All(buckets, b => Assert.Equal("source:checkout", b.Partition));

        var newestFirst = Expected.OrderByDescending(r => r.Timestamp).ThenByDescending(r => r.Id, StringComparer.Ordinal);
        Assert.Equal(newestFirst, await store.QueryAsync(new LogQuery()).ToListAsync());
        foreach (var bucket in buckets)
        {
            Assert.Equal(
                Expected.Where(r => store.Partitioner.Place(r) == bucket.Key).Select(r => new RecordDigest(r.Id, LogRecordCodec.ComputeContentHash(r), LogRecordCodec.GetEncodedLength(r))).OrderBy(d => d.Id, StringComparer.Ordinal),
                store.GetDigests(bucket.Key).OrderBy(d => d.Id, StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task ThisVersionWritesTheFrozenLogSegmentByteForByte()
    {
        // The unsealed format is fully deterministic: the same records must give the committed bytes.
        using var directory = new TempDirectory();
        await WriteAsync(directory.Path);
        var relative = Path.Combine("source%3Acheckout", "20261126T150000Z", "00000001.log");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Folder, relative)), await File.ReadAllBytesAsync(Path.Combine(directory.Path, relative)));
    }

    [Fact]
    public async Task WriteFrozenFiles()
    {
        if (Environment.GetEnvironmentVariable("LOGSTREAM_WRITE_FROZEN_FORMAT") != "1")
            return;
        var target = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "TestData", "format-v1", "segments");
        if (Directory.Exists(target))
            Directory.Delete(target, recursive: true);
        await WriteAsync(target);
    }

    private static async Task WriteAsync(string path)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 15, 40, 0, TimeSpan.Zero));
        await using var store = new SegmentLogStore(path, Options, time, new StorageMetrics(new StoreHarness().MeterFactory));
        await store.OpenAsync();
        foreach (var record in Expected)
            await store.AppendAsync([record]);
        await store.RunMaintenanceAsync();
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
