using System.Buffers.Binary;
using LogStream.Storage;

namespace LogStream.Storage.Tests;

/// <summary>What a review of storage v2 found, each held by a test: upgrades, damaged bytes, lossy rewrites.</summary>
public class StoreRobustnessTests
{
    [Fact]
    public async Task ABucketWhoseFolderNameChangedIsOneBucketWithTheFilesOfBothFolders()
    {
        // 40 spaces escape to 129 characters: a folder name before the names were bounded, cut and hashed now.
        var source = "s" + new string(' ', 40);
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        var before = Enumerable.Range(0, 20).Select(i => Records.Make($"old-{i}", source: source)).ToList();
        await store.AppendAsync(before);
        var key = store.ListBuckets().Single().Key;
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Sealed);
        await store.DisposeAsync();

        // As the previous version left it: the bucket's files in the folder named by the whole escaped key.
        var current = Directory.EnumerateDirectories(harness.Path).Single();
        var legacy = Path.Combine(harness.Path, "source%3As" + string.Concat(Enumerable.Repeat("%20", 40)));
        Directory.Move(current, legacy);

        store = await harness.OpenAsync();
        // Late records go to a new log segment, in the folder the bucket is named by now.
        var after = Enumerable.Range(0, 20).Select(i => Records.Make($"new-{i}", source: source)).ToList();
        Assert.Equal(20, (await store.AppendAsync(after)).Added);
        Assert.Equal(2, Directory.EnumerateDirectories(harness.Path).Count());

        store = await harness.ReopenAsync();
        Assert.Equal(40, store.ListBuckets().Single().Records);
        Assert.Equal(40, (await store.ReadBucketAsync(key).ToListAsync()).Count);
        Assert.Equal(40, (await store.AppendAsync([.. before, .. after])).AlreadyPresent);
        Records.AssertSameLeaves(Records.LeavesOf([.. before, .. after]), harness.Observer.Loaded.Single().Leaves);
    }

    [Fact]
    public async Task ASmallSegmentWhoseHeaderIsDamagedIsMovedAsideNotDeleted()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync([Records.Make("only")]);
        await store.DisposeAsync();
        var file = Records.SegmentFile(harness.Path, ".log");
        var bytes = await File.ReadAllBytesAsync(file);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(32), 1000); // the partition key length, now past the end
        await File.WriteAllBytesAsync(file, bytes);

        await harness.OpenAsync();

        Assert.True(File.Exists(file + ".corrupt"), "the damaged file is kept for forensics and reported, never deleted as empty");
        Assert.Equal(1, harness.Store!.Recovery!.CorruptRegions);
    }

    [Fact]
    public async Task ASealedFooterThatWouldDivideByZeroMovesTheFileAside()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        await store.AppendAsync([Records.Make("a", Records.Base), Records.Make("b", Records.Base.AddHours(2))]);
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        await store.DisposeAsync();
        var file = Records.SegmentFile(harness.Path, ".sealed");
        var bytes = await File.ReadAllBytesAsync(file);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(bytes.Length - SealedFormat.FooterV2Bytes + 28), 0); // entries per page
        await File.WriteAllBytesAsync(file, bytes);

        store = await harness.OpenAsync();

        Assert.True(File.Exists(file + ".corrupt"));
        Assert.Equal(["b"], (await store.ReadEverythingAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task ADamagedIdIndexPageIsReportedOnceAndDuplicatesAreStillRecognised()
    {
        await using var harness = new StoreHarness(new StorageOptions { SealedBlockBytes = 4096 });
        var store = await harness.OpenAsync();
        var records = Enumerable.Range(0, 3000).Select(i => Records.Make($"r{i:D4}", Records.Base.AddSeconds(i))).ToList();
        await store.AppendAsync(records);
        harness.Time.SetUtcNow(Records.Base.AddHours(2));
        await store.RunMaintenanceAsync();
        await store.DisposeAsync();
        var file = Records.SegmentFile(harness.Path, ".sealed");
        var bytes = await File.ReadAllBytesAsync(file);
        var footer = bytes.AsSpan(bytes.Length - SealedFormat.FooterV2Bytes);
        var idIndex = BinaryPrimitives.ReadInt64LittleEndian(footer[12..]);
        bytes[idIndex + 5 * IdIndexEntry.Bytes + 3] ^= 0x40; // inside the first page
        await File.WriteAllBytesAsync(file, bytes);

        store = await harness.OpenAsync();
        var again = await store.AppendAsync(records);

        Assert.Equal(3000, again.AlreadyPresent);
        Assert.Single(harness.Observer.Corruptions);
        Assert.Equal(3000, store.GetDigests(store.ListBuckets().Single().Key).Count);
        // Maintenance rewrites the bucket, and with it a sound index.
        Assert.Equal(1, (await store.RunMaintenanceAsync()).Scrubbed);
        store = await harness.ReopenAsync();
        Assert.Equal(3000, (await store.AppendAsync(records)).AlreadyPresent);
        Assert.Empty(harness.Observer.Corruptions);
    }

    [Fact]
    public async Task ARemovalThatAlsoLosesDamagedRecordsLeavesTheObserversWithTheTrueLeaves()
    {
        await using var harness = new StoreHarness();
        var store = await harness.OpenAsync();
        var records = Enumerable.Range(0, 10).Select(i => Records.Make($"r{i}", Records.Base.AddSeconds(i), message: $"payload number {i} with text")).ToList();
        foreach (var record in records)
            await store.AppendAsync([record]);
        var file = Records.SegmentFile(harness.Path, ".log");
        var bytes = await File.ReadAllBytesAsync(file);
        var at = bytes.AsSpan().IndexOf("payload number 4"u8);
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.Position = at + 3;
            stream.WriteByte((byte)(bytes[at + 3] ^ 0x01));
        }

        var removed = await store.RemoveAsync(store.ListBuckets().Single().Key, ["r7"]);

        Assert.Single(removed);
        var left = await store.ReadEverythingAsync();
        Assert.Equal(8, left.Count);
        // One message with the bucket's leaves (what is left), not the leaves and then the removal on top of them.
        Assert.Empty(harness.Observer.Removed);
        Records.AssertSameLeaves(Records.LeavesOf(left), harness.Observer.Loaded.Last().Leaves);
    }
}
