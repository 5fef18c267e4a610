using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Storage.Tests;

/// <summary>
/// Files written by every format version, committed under TestData/format-vN (written by the FrozenFiles tool from
/// <see cref="FrozenRecords"/>), must be read by every later version: queries, digests, the records repair ships, and
/// (for older versions) the migration maintenance does.
/// Version 1: sealed segments with a zstd id table. Version 2: sealed segments with an id index sorted by id hash,
/// fences and persisted Merkle leaves. Log segments have not changed (version 1).
/// </summary>
public class FrozenFormatTests
{
    private static string Folder(int version) => Path.Combine(AppContext.BaseDirectory, "TestData", $"format-v{version}", "segments");

    private static readonly DateTimeOffset Sealed = new(2026, 11, 26, 14, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Open = new(2026, 11, 26, 15, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task FilesWrittenByEveryFormatVersionAreReadForever(int version)
    {
        await using var harness = CopyOf(version);
        var store = await harness.OpenAsync();

        Assert.Equal(0, store.Recovery!.CorruptRegions);
        Assert.Equal(0, store.Recovery.Truncations);
        Assert.Equal(version == 1 ? 1 : 0, store.Recovery.ToMigrate);
        var buckets = store.ListBuckets();
        Assert.Equal([(Sealed, 4L, true), (Open, 2L, false)], buckets.Select(b => (b.Bucket, b.Records, b.Sealed)));
        Assert.All(buckets, b => Assert.Equal("source:checkout", b.Partition));
        // Opening reads no record of a sealed segment, whatever its version.
        Assert.Equal(0, store.Metrics.BlocksRead);

        await AssertReadsEverythingAsync(store, harness);
    }

    [Fact]
    public async Task MaintenanceRewritesAVersion1SealedSegmentInTheCurrentFormatAndKeepsEveryRecord()
    {
        await using var harness = CopyOf(1);
        var store = await harness.OpenAsync();

        var result = await store.RunMaintenanceAsync();

        Assert.Equal(1, result.Migrated);
        var sealedFile = Assert.Single(Directory.EnumerateFiles(harness.Path, "*.sealed", SearchOption.AllDirectories));
        Assert.Equal(2, SealedVersionOf(sealedFile));
        store = await harness.ReopenAsync();
        Assert.Equal(0, store.Recovery!.ToMigrate);
        await AssertReadsEverythingAsync(store, harness);
        Assert.Equal(0, (await store.RunMaintenanceAsync()).Migrated);
    }

    [Fact]
    public async Task ThisVersionWritesTheFrozenFilesOfTheCurrentVersionByteForByte()
    {
        // Both formats are deterministic: the same records must give the committed bytes (zstd at a fixed level is).
        using var directory = new TempDirectory();
        await FrozenRecords.WriteAsync(directory.Path, new StoreHarness().MeterFactory);
        var current = Folder(SegmentFormat.SealedVersion);
        foreach (var file in Directory.EnumerateFiles(current, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(current, file);
            Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(directory.Path, relative)));
        }
        Assert.Equal(
            Directory.EnumerateFiles(current, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(current, f)).Order(),
            Directory.EnumerateFiles(directory.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(directory.Path, f)).Order());
    }

    private static async Task AssertReadsEverythingAsync(SegmentLogStore store, StoreHarness harness)
    {
        var expected = FrozenRecords.Expected;
        var newestFirst = expected.OrderByDescending(r => r.Timestamp).ThenByDescending(r => r.Id, StringComparer.Ordinal);
        Assert.Equal(newestFirst, await store.QueryAsync(new LogQuery()).ToListAsync());
        Assert.Equal(expected.Count(r => r.Level >= LogSeverity.Warn), await store.CountAsync(new LogQuery { MinLevel = LogSeverity.Warn }));
        foreach (var bucket in store.ListBuckets())
        {
            var held = expected.Where(r => store.Partitioner.Place(r) == bucket.Key).ToList();
            Assert.Equal(Records.DigestsOf(held), store.GetDigests(bucket.Key).OrderBy(d => d.IdHash));
            Records.AssertSameLeaves(Records.LeavesOf(held), harness.Observer.Loaded.Single(l => l.Bucket == bucket.Key).Leaves);

            // What repair ships: the canonical encoding, found by id hash.
            var asked = held.Take(2).ToList();
            var shipped = await store.ReadEncodedRecordsAsync(bucket.Key, asked.Select(r => Records.Hash(r.Id)).ToList()).ToListAsync();
            Assert.Equal(asked.Select(r => Convert.ToHexString(LogRecordCodec.Encode(r))).Order(), shipped.Select(Convert.ToHexString).Order());

            // And the same records are recognised when they arrive again.
            Assert.All((await store.AppendAsync(held)).Statuses, status => Assert.Equal(AppendStatus.AlreadyPresent, status));
        }
    }

    private static StoreHarness CopyOf(int version)
    {
        var harness = new StoreHarness(FrozenRecords.Options, start: FrozenRecords.WrittenAt);
        foreach (var file in Directory.EnumerateFiles(Folder(version), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(harness.Path, Path.GetRelativePath(Folder(version), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return harness;
    }

    private static int SealedVersionOf(string file)
    {
        var bytes = File.ReadAllBytes(file);
        return bytes[4] | (bytes[5] << 8);
    }
}
