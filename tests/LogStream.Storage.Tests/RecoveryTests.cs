using System.Text;
using LogStream.Node.Diagnostics;
using LogStream.Storage;

namespace LogStream.Storage.Tests;

public class RecoveryTests
{
    /// <summary>50 records in 50 separate appends (so 50 frames) in one bucket; returns the log file.</summary>
    private static async Task<string> FillAsync(StoreHarness harness, int count = 50)
    {
        var store = await harness.OpenAsync();
        for (var i = 0; i < count; i++)
            await store.AppendAsync([Records.Make($"r{i:D2}", Records.Base.AddSeconds(i), message: $"payload number {i:D2} with some text")]);
        await store.DisposeAsync();
        return Records.SegmentFile(harness.Path, ".log");
    }

    [Fact]
    public async Task TornTailIsTruncatedAndEveryEarlierRecordKept()
    {
        await using var harness = new StoreHarness();
        var file = await FillAsync(harness);
        var length = new FileInfo(file).Length;
        using (var stream = new FileStream(file, FileMode.Open))
            stream.SetLength(length - 7);

        var store = await harness.OpenAsync();
        Assert.Equal(1, store.Recovery!.Truncations);
        Assert.Equal(1, harness.Metrics.Sum(StorageInstrumentNames.RecoveryTruncations));
        Assert.Empty(harness.Observer.Corruptions);
        var ids = (await store.ReadEverythingAsync()).Select(r => r.Id).ToList();
        Assert.Equal(Enumerable.Range(0, 49).Select(i => $"r{i:D2}"), ids);

        // The store appends after the cut, and the next start is clean.
        await store.AppendAsync([Records.Make("r49", Records.Base.AddSeconds(49))]);
        store = await harness.ReopenAsync();
        Assert.Equal(0, store.Recovery!.Truncations);
        Assert.Equal(50, (await store.ReadEverythingAsync()).Count);
    }

    [Fact]
    public async Task GarbageAfterTheLastFrameIsTruncated()
    {
        await using var harness = new StoreHarness();
        var file = await FillAsync(harness, 10);
        await File.AppendAllTextAsync(file, new string('\0', 100));

        var store = await harness.OpenAsync();
        Assert.Equal(1, store.Recovery!.Truncations);
        Assert.Equal(10, (await store.ReadEverythingAsync()).Count);
    }

    [Fact]
    public async Task FlippedBitInTheMiddleIsReportedWithItsIdAndTheRestKept()
    {
        await using var harness = new StoreHarness();
        var file = await FillAsync(harness);
        var bytes = await File.ReadAllBytesAsync(file);
        var at = IndexOf(bytes, "payload number 25");
        bytes[at + 3] ^= 0x10;
        await File.WriteAllBytesAsync(file, bytes);

        var store = await harness.OpenAsync();
        Assert.Equal(0, store.Recovery!.Truncations);
        Assert.Equal(1, store.Recovery.CorruptRegions);
        Assert.Equal(1, harness.Metrics.Sum(StorageInstrumentNames.CorruptFrames));
        var report = Assert.Single(harness.Observer.Corruptions);
        Assert.Equal(["r25"], report.LostIds);
        Assert.Equal([Records.Hash("r25")], report.LostIdHashes);
        Assert.Equal(store.Partitioner.Place(Records.Make("r25")).Partition, report.Bucket.Partition);
        var left = await store.ReadEverythingAsync();
        Assert.Equal(Enumerable.Range(0, 50).Where(i => i != 25).Select(i => $"r{i:D2}"), left.Select(r => r.Id));
        // The observers learn the bucket without r25.
        Records.AssertSameLeaves(Records.LeavesOf(left), harness.Observer.Loaded.Single().Leaves);

        // Repair can bring the record back, and the damage is not reported again at the next start.
        Assert.Equal(AppendStatus.Added, (await store.AppendAsync([Records.Make("r25", Records.Base.AddSeconds(25))])).Statuses[0]);
        store = await harness.ReopenAsync();
        Assert.Empty(harness.Observer.Corruptions);
        Assert.Equal(50, (await store.ReadEverythingAsync()).Count);
    }

    [Fact]
    public async Task FlippedBitInAFrameLengthLosesOnlyThatFrame()
    {
        await using var harness = new StoreHarness();
        var file = await FillAsync(harness);
        var bytes = await File.ReadAllBytesAsync(file);
        var payload = IndexOf(bytes, "payload number 30");
        // Walk back to the frame start: header (8) + fixed prefix (9) + id varint+bytes (4) + source varint+bytes (9) + message varint (1).
        var frame = payload - 1 - 9 - 4 - 9 - 8;
        bytes[frame + 3] ^= 0x40;
        await File.WriteAllBytesAsync(file, bytes);

        var store = await harness.OpenAsync();
        Assert.Equal(0, store.Recovery!.Truncations);
        Assert.Single(harness.Observer.Corruptions);
        Assert.Equal(49, (await store.ReadEverythingAsync()).Count);
    }

    [Fact]
    public async Task CorruptSealedBlockIsFoundWhenReadLosesOnlyThatBlockAndNamesItsRecords()
    {
        await using var harness = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        var store = await harness.OpenAsync();
        await store.AppendAsync(Enumerable.Range(0, 400).Select(i => Records.Make($"r{i:D3}", Records.Base.AddSeconds(i), message: $"random-ish text {i * 7919 % 1000}")).ToList());
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        await store.DisposeAsync();

        var file = Records.SegmentFile(harness.Path, ".sealed");
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[200] ^= 0x01; // inside the first block
        await File.WriteAllBytesAsync(file, bytes);

        // Start-up reads no block: the damage is found when the block is read, and named by the id index.
        store = await harness.OpenAsync();
        Assert.Empty(harness.Observer.Corruptions);
        var records = await store.ReadEverythingAsync();
        var left = records.Select(r => r.Id).ToHashSet();
        var report = Assert.Single(harness.Observer.Corruptions);
        Assert.NotEmpty(report.LostIdHashes);
        Assert.Equal(400 - report.LostIdHashes.Count, left.Count);
        Assert.All(left, id => Assert.DoesNotContain(Records.Hash(id), report.LostIdHashes));

        // Maintenance rewrites the bucket without the block and tells the observers what it holds now.
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Scrubbed);
        Assert.True(store.ListBuckets().Single().Sealed);
        Assert.Equal(left.Count, store.ListBuckets().Single().Records);
        Records.AssertSameLeaves(Records.LeavesOf(records), harness.Observer.Loaded.Last().Leaves);

        store = await harness.ReopenAsync();
        Assert.Equal(left.Count, (await store.ReadEverythingAsync()).Count);
        Assert.Empty(harness.Observer.Corruptions);
    }

    [Fact]
    public async Task BitRotInASealedBlockNobodyReadsIsFoundInTheBackgroundAndRepairedAway()
    {
        await using var harness = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096, VerifyBytesPerSecond = 1024 * 1024 });
        var store = await harness.OpenAsync();
        var records = Enumerable.Range(0, 400).Select(i => Records.Make($"r{i:D3}", Records.Base.AddSeconds(i), message: $"random-ish text {i * 7919 % 1000}")).ToList();
        await store.AppendAsync(records);
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        await store.DisposeAsync();
        var file = Records.SegmentFile(harness.Path, ".sealed");
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[300] ^= 0x04;
        await File.WriteAllBytesAsync(file, bytes);

        // No query touches the bucket: maintenance's verification finds the damage within its byte budget.
        store = await harness.OpenAsync();
        Assert.Empty(harness.Observer.Corruptions);
        harness.Time.Advance(TimeSpan.FromSeconds(30));
        var found = await store.RunMaintenanceAsync();
        Assert.True(found.VerifiedBytes > 0);
        var report = Assert.Single(harness.Observer.Corruptions);
        Assert.NotEmpty(report.LostIdHashes);

        // The next pass rewrites the bucket without the block; the observers get leaves without those records.
        harness.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Scrubbed);
        var left = await store.ReadEverythingAsync();
        Assert.Equal(400 - report.LostIdHashes.Count, left.Count);
        Records.AssertSameLeaves(Records.LeavesOf(left), harness.Observer.Loaded.Last().Leaves);
    }

    [Fact]
    public async Task UnreadableSealedFileIsMovedAsideAndReported()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync([Records.Make("a", Records.Base), Records.Make("b", Records.Base.AddHours(2))]);
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        await store.DisposeAsync();

        var file = Records.SegmentFile(harness.Path, ".sealed");
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[^2] ^= 0xFF; // footer magic
        await File.WriteAllBytesAsync(file, bytes);

        store = await harness.OpenAsync();
        Assert.Single(harness.Observer.Corruptions);
        Assert.True(File.Exists(file + ".corrupt"));
        Assert.Equal(["b"], (await store.ReadEverythingAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task LeftoversOfAnInterruptedRewriteAreCleanedUp()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync(Enumerable.Range(0, 10).Select(i => Records.Make($"r{i}")).ToList());
        var log = Records.SegmentFile(harness.Path, ".log");
        var copy = await File.ReadAllBytesAsync(log);
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        await store.DisposeAsync();

        // As if the process died after renaming the sealed file in but before deleting the old one,
        // and while writing the temp file of a later rewrite.
        await File.WriteAllBytesAsync(log, copy);
        var folder = Path.GetDirectoryName(log)!;
        await File.WriteAllTextAsync(Path.Combine(folder, "00000009.sealed.tmp"), "half written");

        store = await harness.OpenAsync();
        Assert.Equal(10, (await store.ReadEverythingAsync()).Count);
        Assert.Equal(["00000002.sealed"], Directory.EnumerateFiles(folder).Select(Path.GetFileName));
        Assert.Empty(harness.Observer.Corruptions);
    }

    [Fact]
    public async Task OlderSegmentsStayWhenTheRewriteThatReplacedThemIsUnreadable()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync(Enumerable.Range(0, 10).Select(i => Records.Make($"r{i}")).ToList());
        var log = Records.SegmentFile(harness.Path, ".log");
        var copy = await File.ReadAllBytesAsync(log);
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        await store.DisposeAsync();

        // The old log survived a crash right after the rename, and then the new sealed file rotted.
        await File.WriteAllBytesAsync(log, copy);
        var sealedFile = Records.SegmentFile(harness.Path, ".sealed");
        var bytes = await File.ReadAllBytesAsync(sealedFile);
        bytes[^2] ^= 0xFF;
        await File.WriteAllBytesAsync(sealedFile, bytes);

        store = await harness.OpenAsync();
        Assert.Single(harness.Observer.Corruptions);
        Assert.Equal(10, (await store.ReadEverythingAsync()).Count);
    }

    [Fact]
    public async Task SegmentWithoutADurableHeaderIsRemoved()
    {
        await using var harness = new StoreHarness();
        await FillAsync(harness, 3);
        var folder = Path.GetDirectoryName(Records.SegmentFile(harness.Path, ".log"))!;
        await File.WriteAllBytesAsync(Path.Combine(folder, "00000002.log"), [.. "LSEG"u8, 1]);

        var store = await harness.OpenAsync();
        Assert.Equal(3, (await store.ReadEverythingAsync()).Count);
        Assert.Single(Directory.EnumerateFiles(folder));
        await store.AppendAsync([Records.Make("more")]);
    }

    [Fact]
    public async Task CorruptionMetOnReadIsReportedAndScrubbed()
    {
        await using var harness = new StoreHarness();
        var file = await FillAsync(harness, 10);
        var store = await harness.OpenAsync();

        var bytes = await File.ReadAllBytesAsync(file);
        var at = IndexOf(bytes, "payload number 04");
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.Position = at + 2;
            stream.WriteByte((byte)(bytes[at + 2] ^ 0x01));
        }

        var found = await store.QueryAsync(new LogQuery()).ToListAsync();
        Assert.Equal(9, found.Count);
        Assert.Equal(["r04"], Assert.Single(harness.Observer.Corruptions).LostIds);

        Assert.Equal(1, (await store.RunMaintenanceAsync()).Scrubbed);
        Records.AssertSameLeaves(Records.LeavesOf(found), harness.Observer.Loaded.Last().Leaves);
        Assert.Equal(9, store.ListBuckets().Single().Records);
        Assert.Equal(AppendStatus.Added, (await store.AppendAsync([Records.Make("r04")])).Statuses[0]);
    }

    private static int IndexOf(byte[] haystack, string text)
    {
        var index = haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text));
        Assert.True(index >= 0, $"'{text}' not found in the segment");
        return index;
    }
}
