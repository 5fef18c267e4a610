using LogStream.Node.Diagnostics;
using LogStream.Node.Replication.Hints;
using LogStream.Storage;

namespace LogStream.Hints.Tests;

public sealed class HintLogTests
{
    private static readonly Func<IReadOnlyList<LogRecord>, CancellationToken, Task<bool>> Accept = (_, _) => Task.FromResult(true);

    private static async Task<List<LogRecord>> DrainAsync(HintLog log, string target, int batch = 1000)
    {
        var all = new List<LogRecord>();
        while (true)
        {
            var result = await log.ReplayAsync(target, batch, (records, _) =>
            {
                all.AddRange(records);
                return Task.FromResult(true);
            });
            Assert.False(result.Failed);
            if (result.Delivered == 0)
                return all;
        }
    }

    [Fact]
    public async Task StoredHintsSurviveARestartWithTheirPendingCounts()
    {
        await using var harness = new HintLogHarness();
        await harness.Log.StoreAsync("node-1", Records.Many("a", 3), default);
        await harness.Log.StoreAsync("node-2", Records.Many("b", 5), default);
        await harness.Log.StoreAsync("node-1", Records.Many("c", 2), default);

        var log = await harness.RestartAsync();

        Assert.Equal(5, log.PendingFor("node-1"));
        Assert.Equal(5, log.PendingFor("node-2"));
        Assert.Equal(0, log.PendingFor("node-3"));
        Assert.Equal(new Dictionary<string, long> { ["node-1"] = 5, ["node-2"] = 5 }, log.Pending);
        Assert.Equal(10, log.Recovery!.Pending);
        var replayed = await DrainAsync(log, "node-1");
        Assert.Equal([.. Records.Many("a", 3), .. Records.Many("c", 2)], replayed);
    }

    [Fact]
    public async Task HintsRoundTripEveryFieldOfARecord()
    {
        await using var harness = new HintLogHarness();
        var record = new LogRecord("id-ü", Records.Epoch.AddTicks(12345), LogSeverity.Fatal, "payments", "käse \u2603 done",
            [new("b", "2"), new("a", "1"), new("empty", "")]);
        await harness.Log.StoreAsync("node-1", [record], default);

        var log = await harness.RestartAsync();
        var replayed = Assert.Single(await DrainAsync(log, "node-1"));
        Assert.Equal(record, replayed);
        Assert.Equal(record.Attributes, replayed.Attributes);
    }

    [Fact]
    public async Task ConcurrentStoresLoseNothingAndShareFsyncs()
    {
        await using var harness = new HintLogHarness();
        using var stored = harness.Collect(InstrumentNames.HintsStored);
        const int tasks = 64, storesPerTask = 20;
        using var start = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            start.Wait();
            for (var n = 0; n < storesPerTask; n++)
                await harness.Log.StoreAsync(t % 2 == 0 ? "node-1" : "node-2", [Records.Make($"t{t:D2}-n{n:D3}")], default);
        })).ToList();
        start.Set();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));

        const int stores = tasks * storesPerTask;
        var rounds = harness.Log.CommitRounds;
        Assert.True(rounds < stores / 2, $"{rounds} fsync rounds for {stores} stores: group commit did not share them");
        Assert.Equal(stores, stored.GetMeasurementSnapshot().Sum(m => m.Value));

        var log = await harness.RestartAsync();
        Assert.Equal(stores / 2, log.PendingFor("node-1"));
        Assert.Equal(stores / 2, log.PendingFor("node-2"));
        var replayed = (await DrainAsync(log, "node-1")).Concat(await DrainAsync(log, "node-2")).Select(r => r.Id).ToList();
        Assert.Equal(stores, replayed.ToHashSet().Count);
        Assert.Equal(stores, replayed.Count);
        // Each writer stored one after another, so its hints replay in that order.
        foreach (var writer in replayed.GroupBy(id => id[..3]))
            Assert.Equal(writer.Order(StringComparer.Ordinal), writer);
    }

    [Fact]
    public async Task OneWritersStoresReplayInTheOrderTheyWereAcknowledged()
    {
        await using var harness = new HintLogHarness();
        var expected = new List<string>();
        for (var n = 0; n < 50; n++)
        {
            var batch = Records.Many($"n{n:D2}", 1 + n % 7);
            await harness.Log.StoreAsync("node-1", batch, default);
            expected.AddRange(batch.Select(r => r.Id));
        }
        var log = await harness.RestartAsync();
        Assert.Equal(expected, (await DrainAsync(log, "node-1", batch: 13)).Select(r => r.Id));
    }

    [Fact]
    public async Task ALoneStoreReturnsWithoutTheClockMoving()
    {
        // The fake clock never advances: a store that waited for a timer tick would never return.
        await using var harness = new HintLogHarness();
        await harness.Log.StoreAsync("node-1", [Records.Make("lonely")], default).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, harness.Log.CommitRounds);
        Assert.Equal(1, harness.Log.PendingFor("node-1"));
    }

    [Fact]
    public async Task SegmentsRollOverAtTheSizeLimitAndDeliveredOnesAreDeletedWhole()
    {
        await using var harness = new HintLogHarness(new HintOptions { MaxSegmentBytes = 4096 });
        for (var n = 0; n < 40; n++)
            await harness.Log.StoreAsync("node-1", Records.Many($"n{n:D2}", 5, messageBytes: 60), default);
        var segments = harness.Segments("node-1");
        Assert.True(segments.Length >= 5, $"expected several segments, found {segments.Length}");
        Assert.All(segments.SkipLast(1), s => Assert.True(new FileInfo(s).Length <= 4096, $"{s} is {new FileInfo(s).Length} bytes"));

        // Deliver about half: the segments wholly delivered are gone, the rest stay.
        var half = 0;
        while (half < 100)
            half += (await harness.Log.ReplayAsync("node-1", 10, Accept)).Delivered;
        var remaining = harness.Segments("node-1");
        Assert.True(remaining.Length < segments.Length && remaining.Length > 0, $"{remaining.Length} of {segments.Length} segments left");
        Assert.Equal(segments.TakeLast(remaining.Length), remaining);
        Assert.Equal(100, harness.Log.PendingFor("node-1"));

        await DrainAsync(harness.Log, "node-1");
        Assert.Empty(harness.Segments("node-1"));
        Assert.Equal(0, harness.Log.PendingFor("node-1"));
        Assert.Empty(harness.Log.Pending);

        // A drained target starts a fresh segment for new hints, and they replay.
        await harness.Log.StoreAsync("node-1", [Records.Make("later")], default);
        var log = await harness.RestartAsync();
        Assert.Equal(1, log.PendingFor("node-1"));
        Assert.Equal("later", Assert.Single(await DrainAsync(log, "node-1")).Id);
    }

    [Fact]
    public async Task ABigStoreIsCutIntoEntriesAndReplaysInBatchesAcrossThem()
    {
        await using var harness = new HintLogHarness();
        var records = Records.Many("big", 3000, messageBytes: 200);
        await harness.Log.StoreAsync("node-1", records, default);
        var log = await harness.RestartAsync();
        var batches = new List<int>();
        var replayed = new List<LogRecord>();
        while (true)
        {
            var result = await log.ReplayAsync("node-1", 500, (batch, _) =>
            {
                batches.Add(batch.Count);
                replayed.AddRange(batch);
                return Task.FromResult(true);
            });
            if (result.Delivered == 0)
                break;
        }
        Assert.Equal(Enumerable.Repeat(500, 6), batches);
        Assert.Equal(records, replayed);
    }

    [Theory]
    [InlineData("Node-1")]
    [InlineData("../etc")]
    [InlineData("")]
    [InlineData("node_1")]
    public async Task ATargetThatIsNotANodeIdIsRejected(string target)
    {
        await using var harness = new HintLogHarness();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => harness.Log.StoreAsync(target, [Records.Make("x")], default).AsTask());
        Assert.Contains("not a node id", error.Message);
    }

    [Fact]
    public async Task DisabledHintsAreNotStored()
    {
        await using var harness = new HintLogHarness(new HintOptions { Enabled = false });
        await harness.Log.StoreAsync("node-1", [Records.Make("x")], default);
        Assert.Equal(0, harness.Log.PendingFor("node-1"));
        Assert.Empty(harness.Segments("node-1"));
    }

    [Fact]
    public async Task ThePendingGaugeReportsEachTarget()
    {
        await using var harness = new HintLogHarness();
        using var pending = harness.Collect(InstrumentNames.HintsPending);
        await harness.Log.StoreAsync("node-1", Records.Many("a", 3), default);
        await harness.Log.StoreAsync("node-2", Records.Many("b", 4), default);
        pending.RecordObservableInstruments();
        var byTarget = pending.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["target"]!, m => m.Value);
        Assert.Equal(new Dictionary<string, long> { ["node-1"] = 3, ["node-2"] = 4 }, byTarget);
    }
}
