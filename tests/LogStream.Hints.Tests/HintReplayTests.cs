using LogStream.Node.Diagnostics;
using LogStream.Node.Replication.Hints;
using LogStream.Storage;

namespace LogStream.Hints.Tests;

public sealed class HintReplayTests
{
    private static Func<IReadOnlyList<LogRecord>, CancellationToken, Task<bool>> Into(List<LogRecord[]> batches) => (records, _) =>
    {
        batches.Add([.. records]);
        return Task.FromResult(true);
    };

    private static async Task<List<string>> DrainIdsAsync(HintLog log, string target, int batch = 100)
    {
        var batches = new List<LogRecord[]>();
        while ((await log.ReplayAsync(target, batch, Into(batches))).Delivered > 0)
        {
        }
        return [.. batches.SelectMany(b => b).Select(r => r.Id)];
    }

    [Fact]
    public async Task ReplayDeliversOldestFirstInBatchesAndRemovesWhatWasDelivered()
    {
        await using var harness = new HintLogHarness();
        using var replayed = harness.Collect(InstrumentNames.HintsReplayed);
        var stored = Records.Many("r", 25);
        await harness.Log.StoreAsync("node-1", stored[..7], default);
        await harness.Log.StoreAsync("node-1", stored[7..8], default);
        await harness.Log.StoreAsync("node-1", stored[8..], default);

        var batches = new List<LogRecord[]>();
        var pendingAfter = new List<long>();
        for (var i = 0; i < 4; i++)
            pendingAfter.Add((await harness.Log.ReplayAsync("node-1", 10, Into(batches))).Pending);

        Assert.Equal([10, 10, 5], batches.Select(b => b.Length));
        Assert.Equal(stored, batches.SelectMany(b => b));
        Assert.Equal([15, 5, 0, 0], pendingAfter);
        Assert.Equal(25, replayed.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Empty(harness.Segments("node-1"));
        var log = await harness.RestartAsync();
        Assert.Equal(0, log.PendingFor("node-1"));
        Assert.Empty(await DrainIdsAsync(log, "node-1"));
    }

    [Fact]
    public async Task AFailedDeliveryKeepsEveryRecordOfTheBatchForTheNextTry()
    {
        await using var harness = new HintLogHarness();
        await harness.Log.StoreAsync("node-1", Records.Many("r", 25), default);
        Assert.Equal(10, (await harness.Log.ReplayAsync("node-1", 10, (_, _) => Task.FromResult(true))).Delivered);

        var refused = await harness.Log.ReplayAsync("node-1", 10, (_, _) => Task.FromResult(false));
        var thrown = await harness.Log.ReplayAsync("node-1", 10, (_, _) => throw new HttpRequestException("connection refused"));

        Assert.True(refused.Failed);
        Assert.Null(refused.Error);
        Assert.True(thrown.Failed);
        Assert.IsType<HttpRequestException>(thrown.Error);
        Assert.Equal(15, harness.Log.PendingFor("node-1"));
        var log = await harness.RestartAsync();
        Assert.Equal(15, log.PendingFor("node-1"));
        Assert.Equal(Records.Many("r", 25).Skip(10).Select(r => r.Id), await DrainIdsAsync(log, "node-1", 10));
    }

    [Fact]
    public async Task ACrashAtAnyPointOfAReplayRedeliversAtMostTheBatchInFlight()
    {
        // The disk as it is while each batch is being delivered is what a crash at that instant leaves behind.
        await using var harness = new HintLogHarness(new HintOptions { MaxSegmentBytes = 4096 });
        var stored = new List<LogRecord>();
        for (var n = 0; n < 30; n++)
        {
            var batch = Records.Many($"s{n:D2}", 1 + n % 4, messageBytes: 200);
            await harness.Log.StoreAsync("node-1", batch, default);
            stored.AddRange(batch);
        }
        Assert.True(harness.Segments("node-1").Length > 3);

        using var snapshots = new TempDirectory();
        var batches = new List<LogRecord[]>();
        while ((await harness.Log.ReplayAsync("node-1", 7, (records, _) =>
               {
                   CopyDirectory(harness.Directory, Path.Combine(snapshots.Path, batches.Count.ToString("D3")));
                   batches.Add([.. records]);
                   return Task.FromResult(true);
               })).Delivered > 0)
        {
        }
        Assert.Equal(stored, batches.SelectMany(b => b));

        for (var crash = 0; crash < batches.Count; crash++)
        {
            await using var log = await harness.OpenCopyAsync(Path.Combine(snapshots.Path, crash.ToString("D3")));
            var notYetAcknowledged = batches.Skip(crash).SelectMany(b => b).ToList();
            Assert.Equal(notYetAcknowledged.Count, log.PendingFor("node-1"));
            var redelivered = new List<LogRecord[]>();
            while ((await log.ReplayAsync("node-1", 7, Into(redelivered))).Delivered > 0)
            {
            }
            Assert.Equal(batches[crash], redelivered[0]);
            Assert.Equal(notYetAcknowledged, redelivered.SelectMany(b => b));
        }
    }

    [Fact]
    public async Task ASegmentLeftBehindTheCursorByACrashIsRemovedAtStartUpNotRedelivered()
    {
        await using var harness = new HintLogHarness(new HintOptions { MaxSegmentBytes = 4096 });
        for (var n = 0; n < 20; n++)
            await harness.Log.StoreAsync("node-1", Records.Many($"s{n:D2}", 3, messageBytes: 80), default);
        var first = harness.Segments("node-1")[0];
        var copy = first + ".before";
        File.Copy(first, copy);
        var delivered = 0;
        while (File.Exists(first))
            delivered += (await harness.Log.ReplayAsync("node-1", 1, (_, _) => Task.FromResult(true))).Delivered;
        await harness.Log.DisposeAsync();
        // The crash came after the cursor write and before the deletion.
        File.Move(copy, first);

        var log = await harness.RestartAsync();

        Assert.Equal(1, log.Recovery!.DeliveredSegmentsRemoved);
        Assert.False(File.Exists(first));
        Assert.Equal(60 - delivered, log.PendingFor("node-1"));
        Assert.Equal(60 - delivered, (await DrainIdsAsync(log, "node-1")).Count);
    }

    [Fact]
    public async Task HintsExpireByTheTimeTheyWereStoredNotByTheirRecordsTimestamps()
    {
        await using var harness = new HintLogHarness(new HintOptions { Window = TimeSpan.FromHours(1) });
        using var expired = harness.Collect(InstrumentNames.HintsExpired);
        // Old records hinted now, and fresh records hinted now; only the hint time counts.
        var oldRecords = Enumerable.Range(0, 4).Select(i => Records.Make($"old-{i}", Records.Epoch.AddDays(-10))).ToList();
        await harness.Log.StoreAsync("node-1", oldRecords, default);
        harness.Time.Advance(TimeSpan.FromMinutes(40));
        var futureRecords = Enumerable.Range(0, 3).Select(i => Records.Make($"new-{i}", Records.Epoch.AddDays(10))).ToList();
        await harness.Log.StoreAsync("node-1", futureRecords, default);

        Assert.Equal(0, await harness.Log.ExpireAsync());
        harness.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(4, await harness.Log.ExpireAsync());

        Assert.Equal(4, expired.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, harness.Log.PendingFor("node-1"));
        var log = await harness.RestartAsync();
        Assert.Equal(3, log.PendingFor("node-1"));
        Assert.Equal(["new-0", "new-1", "new-2"], await DrainIdsAsync(log, "node-1"));
    }

    [Fact]
    public async Task ReplaySkipsExpiredHintsWithoutDeliveringThem()
    {
        await using var harness = new HintLogHarness(new HintOptions { Window = TimeSpan.FromHours(1) });
        await harness.Log.StoreAsync("node-1", Records.Many("old", 5), default);
        harness.Time.Advance(TimeSpan.FromMinutes(61));
        await harness.Log.StoreAsync("node-1", Records.Many("new", 2), default);

        var batches = new List<LogRecord[]>();
        var result = await harness.Log.ReplayAsync("node-1", 100, Into(batches));

        Assert.Equal(2, result.Delivered);
        Assert.Equal(5, result.Expired);
        Assert.Equal(["new-000000", "new-000001"], batches.SelectMany(b => b).Select(r => r.Id));
        Assert.Equal(0, harness.Log.PendingFor("node-1"));
    }

    [Fact]
    public async Task WholeExpiredSegmentsAreDroppedWithoutReadingThem()
    {
        await using var harness = new HintLogHarness(new HintOptions { Window = TimeSpan.FromHours(1), MaxSegmentBytes = 4096 });
        using var corrupt = harness.Collect(InstrumentNames.HintsCorrupt);
        for (var n = 0; n < 20; n++)
            await harness.Log.StoreAsync("node-1", Records.Many($"s{n:D2}", 3, messageBytes: 80), default);
        var segments = harness.Segments("node-1");
        // Damage a sealed segment's entries after start-up: reading it would find (and count) the damage.
        using (var file = new FileStream(segments[1], FileMode.Open))
        {
            file.Position = 200;
            file.Write(new byte[64]);
        }
        harness.Time.Advance(TimeSpan.FromHours(2));

        Assert.Equal(60, await harness.Log.ExpireAsync());

        Assert.Empty(corrupt.GetMeasurementSnapshot());
        Assert.Empty(harness.Segments("node-1"));
        Assert.Equal(0, harness.Log.PendingFor("node-1"));
    }

    [Fact]
    public async Task ReplayOfAnUnknownTargetDoesNothing()
    {
        await using var harness = new HintLogHarness();
        var result = await harness.Log.ReplayAsync("node-9", 10, (_, _) => throw new InvalidOperationException("no records to deliver"));
        Assert.Equal(default, result);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var directory in Directory.GetDirectories(from))
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
    }
}
