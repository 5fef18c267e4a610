using System.Buffers.Binary;
using LogStream.Node.Diagnostics;
using LogStream.Node.Replication.Hints;
using LogStream.Storage;

namespace LogStream.Hints.Tests;

/// <summary>What start-up does with damaged hint files: never a crash, never a silent loss.</summary>
public sealed class HintRecoveryTests
{
    private static async Task<List<string>> DrainIdsAsync(HintLog log, string target)
    {
        var ids = new List<string>();
        while ((await log.ReplayAsync(target, 100, (records, _) =>
               {
                   ids.AddRange(records.Select(r => r.Id));
                   return Task.FromResult(true);
               })).Delivered > 0)
        {
        }
        return ids;
    }

    /// <summary>Offsets of the entries of a segment, walking the frame lengths.</summary>
    private static List<long> EntryOffsets(string path, string target)
    {
        var bytes = File.ReadAllBytes(path);
        var offsets = new List<long>();
        long offset = HintFormat.HeaderFixedBytes + target.Length + 4;
        while (offset + 8 <= bytes.Length)
        {
            offsets.Add(offset);
            offset += 8 + BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)offset));
        }
        return offsets;
    }

    private static async Task<string> StoreThreeEntriesAsync(HintLogHarness harness)
    {
        await harness.Log.StoreAsync("node-1", [Records.Make("first")], default);
        await harness.Log.StoreAsync("node-1", [Records.Make("second-a"), Records.Make("second-b")], default);
        await harness.Log.StoreAsync("node-1", [Records.Make("third")], default);
        await harness.Log.DisposeAsync();
        return Assert.Single(harness.Segments("node-1"));
    }

    [Fact]
    public async Task ATornTailIsTruncatedAndEverythingBeforeItIsKept()
    {
        await using var harness = new HintLogHarness();
        var segment = await StoreThreeEntriesAsync(harness);
        var intact = new FileInfo(segment).Length;
        // An unfinished write: the first half of a copy of the last entry.
        var bytes = File.ReadAllBytes(segment);
        var last = EntryOffsets(segment, "node-1")[^1];
        using (var file = new FileStream(segment, FileMode.Append))
            file.Write(bytes.AsSpan((int)last, (int)(bytes.Length - last) / 2));
        using var corrupt = harness.Collect(InstrumentNames.HintsCorrupt);

        var log = await harness.RestartAsync();

        Assert.Equal(1, log.Recovery!.Truncations);
        Assert.Equal(0, log.Recovery.CorruptRegions);
        Assert.Empty(corrupt.GetMeasurementSnapshot());
        Assert.Equal(intact, new FileInfo(segment).Length);
        Assert.Equal(4, log.PendingFor("node-1"));
        await log.StoreAsync("node-1", [Records.Make("after-restart")], default);
        Assert.Equal(["first", "second-a", "second-b", "third", "after-restart"], await DrainIdsAsync(log, "node-1"));
    }

    [Fact]
    public async Task AnEntryCutShortByACrashIsDroppedAsATornTail()
    {
        await using var harness = new HintLogHarness();
        var segment = await StoreThreeEntriesAsync(harness);
        using (var file = new FileStream(segment, FileMode.Open))
            file.SetLength(file.Length - 3);

        var log = await harness.RestartAsync();

        Assert.Equal(1, log.Recovery!.Truncations);
        Assert.Equal(3, log.PendingFor("node-1"));
        Assert.Equal(["first", "second-a", "second-b"], await DrainIdsAsync(log, "node-1"));
    }

    [Fact]
    public async Task AFlippedBitSkipsOnlyTheDamagedEntryAndIsCounted()
    {
        await using var harness = new HintLogHarness();
        var segment = await StoreThreeEntriesAsync(harness);
        var middle = EntryOffsets(segment, "node-1")[1];
        FlipBit(segment, middle + 30);
        using var corrupt = harness.Collect(InstrumentNames.HintsCorrupt);

        var log = await harness.RestartAsync();

        Assert.Equal(1, log.Recovery!.CorruptRegions);
        Assert.Equal(0, log.Recovery.Truncations);
        Assert.Equal(1, corrupt.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(2, log.PendingFor("node-1"));
        Assert.Equal(["first", "third"], await DrainIdsAsync(log, "node-1"));
        Assert.Equal(1, corrupt.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Empty(harness.Segments("node-1"));
    }

    [Fact]
    public async Task AFlippedBitInTheLastEntryIsATornTail()
    {
        // Nothing valid follows it, so it cannot be told apart from an unfinished write; it was never acknowledged then.
        await using var harness = new HintLogHarness();
        var segment = await StoreThreeEntriesAsync(harness);
        FlipBit(segment, EntryOffsets(segment, "node-1")[2] + 25);

        var log = await harness.RestartAsync();

        Assert.Equal(1, log.Recovery!.Truncations);
        Assert.Equal(["first", "second-a", "second-b"], await DrainIdsAsync(log, "node-1"));
    }

    [Fact]
    public async Task ASegmentWithADamagedHeaderIsMovedAsideAndTheOthersAreKept()
    {
        await using var harness = new HintLogHarness(new HintOptions { MaxSegmentBytes = 4096 });
        for (var n = 0; n < 12; n++)
            await harness.Log.StoreAsync("node-1", Records.Many($"n{n:D2}", 10, messageBytes: 60), default);
        await harness.Log.DisposeAsync();
        var segments = harness.Segments("node-1");
        Assert.True(segments.Length >= 3);
        FlipBit(segments[1], 9);
        using var corrupt = harness.Collect(InstrumentNames.HintsCorrupt);

        var log = await harness.RestartAsync();

        Assert.Equal(1, log.Recovery!.CorruptRegions);
        Assert.Equal(1, corrupt.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.True(File.Exists(segments[1] + ".corrupt"));
        var ids = await DrainIdsAsync(log, "node-1");
        Assert.Equal(log.Recovery.Pending, ids.Count);
        Assert.Contains("n00-000000", ids);
        Assert.Contains("n11-000009", ids);
        Assert.True(ids.Count < 120);
    }

    [Fact]
    public async Task ASegmentWhoseCreationWasInterruptedIsRemoved()
    {
        await using var harness = new HintLogHarness();
        await harness.Log.StoreAsync("node-1", [Records.Make("kept")], default);
        await harness.Log.DisposeAsync();
        var torn = Path.Combine(harness.TargetDirectory("node-1"), HintFormat.SegmentFileName(2));
        File.WriteAllBytes(torn, "LHNT\u0001"u8.ToArray());

        var log = await harness.RestartAsync();

        Assert.Equal(1, log.Recovery!.TornSegmentsRemoved);
        Assert.Equal(0, log.Recovery.CorruptRegions);
        Assert.False(File.Exists(torn));
        Assert.Equal(["kept"], await DrainIdsAsync(log, "node-1"));
    }

    [Fact]
    public async Task DamageAfterStartUpIsFoundOnReadSkippedAndCountedOnce()
    {
        await using var harness = new HintLogHarness();
        var segment = await StoreThreeEntriesAsync(harness);
        var log = await harness.RestartAsync();
        FlipBit(segment, EntryOffsets(segment, "node-1")[1] + 30);
        using var corrupt = harness.Collect(InstrumentNames.HintsCorrupt);

        // The first attempt fails after reading past the damage; the retry must not count it again.
        var refused = await log.ReplayAsync("node-1", 100, (_, _) => Task.FromResult(false));
        Assert.True(refused.Failed);
        Assert.Equal(["first", "third"], await DrainIdsAsync(log, "node-1"));
        Assert.Equal(1, corrupt.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(0, log.PendingFor("node-1"));
    }

    [Fact]
    public async Task ADamagedCursorFallsBackToThePreviousPositionAndRedeliversOneBatch()
    {
        await using var harness = new HintLogHarness();
        await harness.Log.StoreAsync("node-1", Records.Many("r", 30), default);
        for (var batch = 0; batch < 2; batch++)
            Assert.Equal(10, (await harness.Log.ReplayAsync("node-1", 10, (_, _) => Task.FromResult(true))).Delivered);
        await harness.Log.DisposeAsync();
        // Two positions were written: generation 1 in slot 1, generation 2 in slot 0. Damage the newest.
        FlipBit(Path.Combine(harness.TargetDirectory("node-1"), HintFormat.CursorFileName), 17);

        var log = await harness.RestartAsync();

        Assert.Equal(20, log.PendingFor("node-1"));
        var ids = await DrainIdsAsync(log, "node-1");
        Assert.Equal(Records.Many("r", 30).Skip(10).Select(r => r.Id), ids);
    }

    [Fact]
    public async Task AnUnreadableCursorRedeliversEverythingRatherThanLosingAnything()
    {
        await using var harness = new HintLogHarness();
        await harness.Log.StoreAsync("node-1", Records.Many("r", 30), default);
        Assert.Equal(10, (await harness.Log.ReplayAsync("node-1", 10, (_, _) => Task.FromResult(true))).Delivered);
        await harness.Log.DisposeAsync();
        File.WriteAllBytes(Path.Combine(harness.TargetDirectory("node-1"), HintFormat.CursorFileName), new byte[100]);

        var log = await harness.RestartAsync();

        Assert.Equal(1, log.Recovery!.CursorsLost);
        Assert.Equal(30, (await DrainIdsAsync(log, "node-1")).Count);
    }

    [Fact]
    public async Task AFolderThatIsNotANodeIdIsIgnored()
    {
        await using var harness = new HintLogHarness();
        Directory.CreateDirectory(Path.Combine(harness.Directory, "lost+found"));
        await harness.Log.StoreAsync("node-1", [Records.Make("x")], default);
        var log = await harness.RestartAsync();
        Assert.Equal(1, log.Recovery!.Targets);
        Assert.Equal(new Dictionary<string, long> { ["node-1"] = 1 }, log.Pending);
    }

    private static void FlipBit(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ 0x10));
    }
}
