using System.Text;
using LogStream.Storage;

namespace LogStream.Storage.Tests;

/// <summary>
/// Storage v2: memory does not grow with sealed records, a sealed bucket still recognises its records (a retry, a
/// repair, a hint), and start-up reads no record of a sealed segment.
/// </summary>
public class StorageCapacityTests
{
    private static List<LogRecord> Batch(string prefix, int count, DateTimeOffset start, string source = "checkout") =>
        Enumerable.Range(0, count)
            .Select(i => Records.Make($"{prefix}-{i:D5}", start.AddMilliseconds(i * 10), (LogSeverity)(i % 6), source,
                $"request {i} for order {i * 7 % 1000} took {i % 250} ms"))
            .ToList();

    [Fact]
    public async Task ABatchAppendedSealedAndRestartedIsStoredOnceWhenItComesAgain()
    {
        await using var harness = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        var store = await harness.OpenAsync();
        var batch = Batch("retry", 2000, Records.Base);
        Assert.Equal(2000, (await store.AppendAsync(batch)).Added);
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Sealed);
        store = await harness.ReopenAsync();

        // The same batch again (a client's retry), as records and as a replica receives it (encoded).
        var again = await store.AppendAsync(batch);
        Assert.Equal(2000, again.AlreadyPresent);
        using var encoded = EncodedBatch.FromRecords(batch);
        Assert.Equal(2000, (await store.AppendAsync(encoded)).AlreadyPresent);

        var bucket = store.ListBuckets().Single();
        Assert.Equal(2000, bucket.Records);
        Assert.True(bucket.Sealed, "nothing was appended beside the sealed segment");
        Assert.Equal(2000, (await store.ReadEverythingAsync()).Count);
    }

    [Fact]
    public async Task ARecordArrivingByRepairOrHintIsRecognisedInASealedBucketAndANewOneIsAdded()
    {
        await using var source = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        await using var replica = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        var from = await source.OpenAsync();
        var to = await replica.OpenAsync();
        var records = Batch("r", 1000, Records.Base);
        await from.AppendAsync(records);
        await to.AppendAsync(records.Where((_, i) => i % 10 != 0).ToList());
        replica.Time.SetUtcNow(Records.Base.AddHours(2));
        await to.RunMaintenanceAsync();
        to = await replica.ReopenAsync();

        // What repair does: read the records by id hash where they are, ship them encoded, append them as received.
        var key = from.ListBuckets().Single().Key;
        var shipped = await from.ReadEncodedRecordsAsync(key, records.Select(r => Records.Hash(r.Id)).ToList()).ToListAsync();
        using var received = new EncodedBatch();
        foreach (var payload in shipped)
            Assert.True(received.TryAddEncoded(payload));
        var result = await to.AppendAsync(received);

        Assert.Equal(100, result.Added);
        Assert.Equal(900, result.AlreadyPresent);
        Assert.Equal(Records.DigestsOf(records), to.GetDigests(key).OrderBy(d => d.IdHash));
        Assert.Equal(1000, to.ListBuckets().Single().Records);
    }

    [Fact]
    public async Task StartUpReadsNoRecordOfASealedSegment()
    {
        await using var harness = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        var store = await harness.OpenAsync();
        for (var hour = 0; hour < 6; hour++)
            await store.AppendAsync(Batch($"h{hour}", 1500, Records.Base.AddHours(hour), source: $"svc-{hour % 3}"));
        harness.Time.SetUtcNow(Records.Base.AddHours(8));
        Assert.Equal(6, (await store.RunMaintenanceAsync()).Sealed);
        // A late record beside a sealed segment: its log segment is read at start-up, the sealed one is not.
        await store.AppendAsync([Records.Make("late", Records.Base.AddMinutes(5), source: "svc-0")]);

        store = await harness.ReopenAsync();

        Assert.Equal(0, store.Metrics.BlocksRead);
        Assert.Equal(9001, store.Recovery!.Records);
        Assert.Equal(6, harness.Observer.Loaded.Count);
        var all = await store.ReadEverythingAsync();
        Assert.Equal(9001, all.Count);
        Assert.True(store.Metrics.BlocksRead > 0, "reading the records reads the blocks");
        foreach (var (bucket, leaves) in harness.Observer.Loaded)
            Records.AssertSameLeaves(Records.LeavesOf(all.Where(r => store.Partitioner.Place(r) == bucket)), leaves);
    }

    [Fact]
    public async Task MemoryForARecordStaysUnderFortyBytesWhileItsBucketIsOpenAndLeavesWithTheSeal()
    {
        await using var harness = new StoreHarness(memory: true);
        var store = await harness.OpenAsync();
        const int count = 200_000;
        for (var i = 0; i < count; i += 10_000)
            await store.AppendAsync(Batch($"m{i}", 10_000, Records.Base.AddSeconds(i / 100)));

        var open = store.Memory();
        Assert.Equal(count, open.OpenRecords);
        Assert.Equal(1, open.OpenBuckets);
        var perRecord = (open.IdTables + open.RecordEntries) / (double)count;
        Assert.InRange(perRecord, 20, 40);

        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        var sealedMemory = store.Memory();
        Assert.Equal(0, sealedMemory.IdTables + sealedMemory.RecordEntries);
        Assert.Equal(0, sealedMemory.OpenBuckets);
        // The block index: one entry per 64 KiB block, well under a byte a record.
        Assert.InRange(sealedMemory.SealedIndexes / (double)count, 0.01, 1);
        Assert.Equal(count, store.ListBuckets().Single().Records);
    }

    [Fact]
    public async Task ForcedIdHashCollisionsStoreEachIdOnceAcrossSealingAndRestarts()
    {
        // Every id hashes to one of three values: the store must tell records apart by their id bytes everywhere.
        IdHasher collide = id => (ulong)(id.Length % 3) << 62 | 0x1234;
        await using var harness = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        SegmentLogStore Open() => new(harness.Path, harness.Options, harness.Time, new StorageMetrics(harness.MeterFactory), null, [harness.Observer], collide);
        var store = Open();
        await store.OpenAsync();
        var first = Batch("a", 300, Records.Base);
        Assert.Equal(300, (await store.AppendAsync(first)).Added);
        Assert.Equal(300, (await store.AppendAsync(first)).AlreadyPresent);

        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        var late = Batch("b", 50, Records.Base.AddMinutes(30));
        Assert.Equal(50, (await store.AppendAsync(late)).Added);
        await store.DisposeAsync();

        store = Open();
        await store.OpenAsync();
        try
        {
            var result = await store.AppendAsync([.. first, .. late]);
            Assert.Equal(350, result.AlreadyPresent);
            Assert.Equal(350, (await store.ReadEverythingAsync()).Select(r => r.Id).Distinct().Count());
            Assert.Equal(350, store.ListBuckets().Single().Records);
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(' ')]
    [InlineData('é')]
    [InlineData('%')]
    public async Task EverySourceTheApiAcceptsIsStorableAndKeepsItsOwnFolder(char filler)
    {
        // 256 UTF-8 bytes that escape to up to three characters each: far past the 255-byte limit of a file name.
        var bytesPerChar = Encoding.UTF8.GetByteCount(filler.ToString());
        var a = "a" + new string(filler, (LogRecord.MaxSourceBytes - 1) / bytesPerChar);
        var b = "b" + new string(filler, (LogRecord.MaxSourceBytes - 1) / bytesPerChar);
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();

        await store.AppendAsync([Records.Make("1", source: a), Records.Make("2", source: b)]);
        store = await harness.ReopenAsync();

        Assert.All(Directory.EnumerateDirectories(harness.Path), d => Assert.InRange(Path.GetFileName(d).Length, 1, SegmentFormat.MaxPartitionDirectoryChars));
        Assert.Equal(2, Directory.EnumerateDirectories(harness.Path).Count());
        Assert.Equal(["1"], (await store.QueryAsync(new LogQuery { Source = a }).ToListAsync()).Select(r => r.Id));
        Assert.Equal(["2"], (await store.QueryAsync(new LogQuery { Source = b }).ToListAsync()).Select(r => r.Id));
    }
}
