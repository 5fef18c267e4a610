using LogStream.Node.Diagnostics;
using LogStream.Storage;

namespace LogStream.Storage.Tests;

public class SegmentLogStoreTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ALoneAppendNeedsNoTimerTickAndTakesOneFsync()
    {
        // The fake clock never moves: if an append waited for a timer, it would never finish.
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync([Records.Make("a")]).AsTask().WaitAsync(Deadline);
        await store.AppendAsync([Records.Make("b")]).AsTask().WaitAsync(Deadline);
        Assert.Equal(2, harness.Metrics.Sum(StorageInstrumentNames.Fsyncs));
        Assert.Equal(2, harness.Metrics.Sum(StorageInstrumentNames.RecordsPerFsync));
    }

    [Fact]
    public async Task ConcurrentAppendersShareFsyncs()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        var tasks = Enumerable.Range(0, 64).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
                await store.AppendAsync([Records.Make($"w{w}-{i}")]);
        }));
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));

        var fsyncs = harness.Metrics.Sum(StorageInstrumentNames.Fsyncs);
        Assert.Equal(1280, harness.Metrics.Sum(StorageInstrumentNames.RecordsPerFsync));
        Assert.True(fsyncs < 1280 / 2, $"64 concurrent appenders should share fsyncs; {fsyncs} fsyncs for 1280 appends.");
    }

    [Fact]
    public async Task IntervalModeAcknowledgesBeforeTheFsyncAndSyncsOnTheTimer()
    {
        await using var harness = new StoreHarness(new StorageOptions { Durability = "interval", FsyncInterval = TimeSpan.FromMilliseconds(100) });
        var store = await harness.OpenAsync();
        await store.AppendAsync([Records.Make("a")]).AsTask().WaitAsync(Deadline);
        Assert.Equal(0, harness.Metrics.Sum(StorageInstrumentNames.Fsyncs));

        harness.Time.Advance(TimeSpan.FromMilliseconds(100));
        await WaitUntilAsync(() => harness.Metrics.Sum(StorageInstrumentNames.Fsyncs) == 1, "the interval fsync after one period");
    }

    [Fact]
    public async Task IntervalModeMakesAppendsWaitWhenFsyncFallsTwoIntervalsBehind()
    {
        await using var harness = new StoreHarness();
        var committer = new GroupCommitter(new StorageMetrics(harness.MeterFactory), harness.Time, interval: true, TimeSpan.FromMilliseconds(100));
        var header = new SegmentHeader(SegmentKind.Log, 0, TimeSpan.TicksPerHour, 1, 0, "source:test");
        var segment = LogSegment.Create(Path.Combine(harness.Path, "00000001.log"), header);
        try
        {
            Assert.True(committer.WaitAsync(committer.MarkDirty(segment, 1)).IsCompletedSuccessfully);
            Assert.Equal(0, harness.Metrics.Sum(StorageInstrumentNames.Fsyncs));

            harness.Time.Advance(TimeSpan.FromMilliseconds(250));
            await committer.WaitAsync(committer.MarkDirty(segment, 1)).WaitAsync(Deadline);
            Assert.Equal(1, harness.Metrics.Sum(StorageInstrumentNames.Fsyncs));
            Assert.Equal(2, harness.Metrics.Sum(StorageInstrumentNames.RecordsPerFsync));
        }
        finally
        {
            segment.Retire();
        }
    }

    [Fact]
    public async Task RecordsOlderThanTheRetentionAreNotStored()
    {
        await using var harness = new StoreHarness(new StorageOptions { Retention = TimeSpan.FromDays(1) });
        var store = await harness.OpenAsync();
        var result = await store.AppendAsync([Records.Make("old", harness.Time.GetUtcNow().AddDays(-2)), Records.Make("new")]);
        Assert.Equal([AppendStatus.Expired, AppendStatus.Added], result.Statuses);
        Assert.Equal(1, result.Expired);
    }

    [Fact]
    public async Task ReadRecordsFindsTheAskedIdsInSealedBlocksAndTheActiveSegment()
    {
        await using var harness = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        var store = await harness.OpenAsync();
        await store.AppendAsync(Enumerable.Range(0, 400).Select(i => Records.Make($"r{i:D3}", Records.Base.AddSeconds(i))).ToList());
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Sealed);
        var key = store.ListBuckets().Single().Key;
        Assert.Equal(AppendStatus.Added, Assert.Single((await store.AppendAsync([Records.Make("late", Records.Base.AddSeconds(1))])).Statuses));

        // Blocks of 4 KB: the asked ids sit in different blocks, one in the segment appended after sealing.
        string[] asked = ["r000", "r137", "r399", "late", "r400", "R000"];
        var found = await store.ReadRecordsAsync(key, asked).ToListAsync();

        Assert.Equal(["late", "r000", "r137", "r399"], found.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal(Records.Make("r137", Records.Base.AddSeconds(137)).Message, found.Single(r => r.Id == "r137").Message);
    }

    [Fact]
    public async Task DigestsCarryTheIdHashAndCanBeListedForSomeLeavesOnly()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        var records = Enumerable.Range(0, 200).Select(i => Records.Make($"r{i}")).ToList();
        await store.AppendAsync(records);
        var key = store.ListBuckets().Single().Key;

        var all = store.GetDigests(key);
        Assert.Equal(Records.DigestsOf(records), all.OrderBy(d => d.IdHash));
        var some = store.GetDigests(key, leaf => (leaf & 3) == 0);

        Assert.Equal(all.Where(d => (MerkleLeaves.LeafOf(d.IdHash) & 3) == 0).OrderBy(d => d.IdHash), some.OrderBy(d => d.IdHash));
        Assert.InRange(some.Count, 20, 80);
    }

    [Fact]
    public async Task ObserverSeesNewRecordsWithTheirContentHash()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        var record = Records.Make("a", attributes: [new("k", "v")]);
        await store.AppendAsync([record]);

        var (bucket, digests) = Assert.Single(harness.Observer.Appended);
        Assert.Equal(store.Partitioner.Place(record), bucket);
        var digest = Assert.Single(digests);
        Assert.Equal(RecordDigest.Of("a", LogRecordCodec.ComputeContentHash(record)), digest);
        Assert.Equal([digest], store.GetDigests(bucket));

        store = await harness.ReopenAsync();
        var loaded = Assert.Single(harness.Observer.Loaded);
        Assert.Equal(bucket, loaded.Bucket);
        Records.AssertSameLeaves(Records.LeavesOf([record]), loaded.Leaves);
    }

    [Fact]
    public async Task SealingCompressesAndKeepsEveryRecordAndTheDigests()
    {
        await using var harness = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        var store = await harness.OpenAsync();
        var records = Enumerable.Range(0, 500)
            .Select(i => Records.Make($"r{i:D4}", Records.Base.AddSeconds(i * 3), (LogSeverity)(i % 6), message: $"GET /api/orders/{i % 50} served in {i % 97} ms for user {i % 13} from region eu-west-{i % 3}, cache {(i % 2 == 0 ? "hit" : "miss")}"))
            .ToList();
        await store.AppendAsync(records);
        var bucket = store.ListBuckets().Single();
        var digestsBefore = store.GetDigests(bucket.Key).OrderBy(d => d.IdHash).ToList();
        Assert.Equal(Records.DigestsOf(records), digestsBefore);
        Assert.False(bucket.Sealed);

        harness.Time.SetUtcNow(Records.Base.AddHours(1) + harness.Options.SealGrace);
        var result = await store.RunMaintenanceAsync();
        Assert.Equal(1, result.Sealed);

        var sealedBucket = store.ListBuckets().Single();
        Assert.True(sealedBucket.Sealed);
        Assert.Equal(500, sealedBucket.Records);
        // Compressed blocks at under half the size, plus what keeps the bucket out of memory: the id index (20 bytes a
        // record) and the Merkle leaves (12 KiB).
        var indexes = 20 * records.Count + MerkleLeaves.SerializedBytes;
        Assert.True(sealedBucket.Bytes - indexes < bucket.Bytes / 2, $"sealed {sealedBucket.Bytes} bytes ({indexes} of indexes) vs {bucket.Bytes} unsealed");
        Assert.Equal(records.AsEnumerable().Reverse(), await store.QueryAsync(new LogQuery()).ToListAsync());

        store = await harness.ReopenAsync();
        Assert.Equal(digestsBefore, store.GetDigests(bucket.Key));
        Records.AssertSameLeaves(Records.LeavesOf(records), Assert.Single(harness.Observer.Loaded).Leaves);
        Assert.Equal(1, harness.Metrics.Sum(StorageInstrumentNames.BucketsSealed));
    }

    [Fact]
    public async Task LateRecordsForASealedBucketAreAcceptedAndResealed()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync([Records.Make("early")]);
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();

        var late = await store.AppendAsync([Records.Make("late", Records.Base.AddMinutes(30)), Records.Make("early")]);
        Assert.Equal([AppendStatus.Added, AppendStatus.AlreadyPresent], late.Statuses);
        var bucket = store.ListBuckets().Single();
        Assert.False(bucket.Sealed);
        Assert.Equal(2, bucket.Segments);

        harness.Time.Advance(harness.Options.SealGrace);
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Sealed);
        bucket = store.ListBuckets().Single();
        Assert.True(bucket.Sealed);
        Assert.Equal(1, bucket.Segments);
        Assert.Equal(["late", "early"], (await store.QueryAsync(new LogQuery()).ToListAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task ASealedBucketIsRewrittenOnlyOnceItsLateRecordsReachTheResealFraction()
    {
        await using var harness = new StoreHarness(new StorageOptions { ResealFraction = 0.1 });
        var store = await harness.OpenAsync();
        await store.AppendAsync(Enumerable.Range(0, 100).Select(i => Records.Make($"r{i:D3}", Records.Base.AddSeconds(i))).ToList());
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Sealed);
        var sealedFile = Directory.GetFiles(harness.Path, "*.sealed", SearchOption.AllDirectories).Single();

        // 9 late records (repair, late writes) for 100 sealed: below 10 %, they stay in a log segment beside it.
        await store.AppendAsync(Enumerable.Range(0, 9).Select(i => Records.Make($"late{i}", Records.Base.AddMinutes(30 + i))).ToList());
        harness.Time.Advance(harness.Options.SealGrace * 10);
        Assert.Equal(0, (await store.RunMaintenanceAsync()).Sealed);
        var bucket = store.ListBuckets().Single();
        Assert.Equal((109, false, 2), (bucket.Records, bucket.Sealed, bucket.Segments));
        Assert.True(File.Exists(sealedFile), "the sealed segment was rewritten");
        store = await harness.ReopenAsync();
        Assert.Equal(109, (await store.QueryAsync(new LogQuery { Limit = 1000 }).ToListAsync()).Count);
        Assert.Equal(0, (await store.RunMaintenanceAsync()).Sealed);

        // The tenth reaches 10 %: once the grace has passed since it arrived, the bucket is sealed again as one segment.
        await store.AppendAsync([Records.Make("late9", Records.Base.AddMinutes(50))]);
        Assert.Equal(0, (await store.RunMaintenanceAsync()).Sealed);
        harness.Time.Advance(harness.Options.SealGrace);
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Sealed);
        bucket = store.ListBuckets().Single();
        Assert.Equal((110, true, 1), (bucket.Records, bucket.Sealed, bucket.Segments));
        Assert.False(File.Exists(sealedFile));
        Assert.Equal(110, (await store.QueryAsync(new LogQuery { Limit = 1000 }).ToListAsync()).Count);
    }

    [Fact]
    public async Task RemovalForgetsTheIdsAlsoAfterARestart()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync(Enumerable.Range(0, 20).Select(i => Records.Make($"r{i}")).ToList());
        var key = store.ListBuckets().Single().Key;

        var removed = await store.RemoveAsync(key, ["r3", "r7", "missing"]);
        Assert.Equal(new[] { "r3", "r7" }.Select(Records.Hash).Order(), removed.Select(d => d.IdHash).Order());
        Assert.Equal(removed.OrderBy(d => d.IdHash), harness.Observer.Removed.Single().Records.OrderBy(d => d.IdHash));

        store = await harness.ReopenAsync();
        var ids = (await store.ReadEverythingAsync()).Select(r => r.Id).ToHashSet();
        Assert.Equal(18, ids.Count);
        Assert.DoesNotContain("r3", ids);
        Assert.Equal(AppendStatus.Added, (await store.AppendAsync([Records.Make("r3")])).Statuses[0]);
    }

    [Fact]
    public async Task RetentionDropsWholeBucketsAndTellsTheObserver()
    {
        await using var harness = new StoreHarness(new StorageOptions { Retention = TimeSpan.FromHours(2) });
        var store = await harness.OpenAsync();
        await store.AppendAsync([Records.Make("old", Records.Base), Records.Make("new", Records.Base.AddHours(1))]);

        harness.Time.SetUtcNow(Records.Base.AddHours(3));
        var result = await store.RunMaintenanceAsync();
        Assert.Equal(1, result.Dropped);
        Assert.Equal([Records.Base.AddHours(1)], store.ListBuckets().Select(b => b.Bucket));
        Assert.Equal(Records.Base, harness.Observer.Dropped.Single().Bucket);
        Assert.Equal(1, harness.Metrics.Sum(StorageInstrumentNames.RetentionDrops));

        store = await harness.ReopenAsync();
        Assert.Equal(["new"], (await store.ReadEverythingAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task QueriesStreamWhileAppendsContinue()
    {
        await using var harness = new StoreHarness(new StorageOptions { MaxSegmentBytes = 1024 * 1024 });
        var store = await harness.OpenAsync();
        await store.AppendAsync(Enumerable.Range(0, 2000).Select(i => Records.Make($"r{i:D5}", Records.Base.AddMilliseconds(i))).ToList());
        var seen = 0;
        await foreach (var record in store.QueryAsync(new LogQuery()))
        {
            if (seen++ % 100 == 0)
                await store.AppendAsync([Records.Make($"during{seen}", Records.Base.AddMinutes(10))]);
        }
        Assert.Equal(2000, seen);
    }

    [Fact]
    public async Task MetricsCountAppendsAndDiskBytes()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync([Records.Make("a"), Records.Make("b"), Records.Make("a")]);
        Assert.Equal(2, harness.Metrics.Sum(StorageInstrumentNames.RecordsAppended));
        Assert.Equal(1, harness.Metrics.Sum(StorageInstrumentNames.RecordsDuplicate));
        Assert.True(harness.Metrics.Sum(StorageInstrumentNames.BytesAppended) > 0);
        Assert.Equal(1, harness.Metrics.Observe(StorageInstrumentNames.Segments));
        Assert.Equal(store.ListBuckets().Single().Bytes, harness.Metrics.Observe(StorageInstrumentNames.DiskBytes));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {Deadline} waiting for {what}.");
            await Task.Delay(5);
        }
    }
}
