using LogStream.Node.Membership;
using LogStream.Node.Replication.Hints;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LogStream.Hints.Tests;

public sealed class HintedHandoffServiceTests
{
    private static HintedHandoffService Service(HintLogHarness harness, MembershipView membership, IHintDelivery? delivery) =>
        new(harness.Log, membership, Options.Create(harness.Options), harness.Time, NullLogger<HintedHandoffService>.Instance, delivery);

    [Fact]
    public async Task OnlyTargetsThatAreUpAreReplayed()
    {
        await using var harness = new HintLogHarness();
        foreach (var target in new[] { "node-1", "node-2", "node-3", "node-4", "node-5" })
            await harness.Log.StoreAsync(target, Records.Many(target, 3), default);
        var membership = Members.With(harness.Time,
            ("node-1", MemberState.Up), ("node-2", MemberState.Down), ("node-3", MemberState.Suspect), ("node-4", MemberState.Leaving));
        var delivery = new RecordingDelivery();
        var service = Service(harness, membership, delivery);
        harness.Time.Advance(TimeSpan.FromSeconds(1));

        var pass = await service.ReplayOnceAsync(default);

        Assert.Equal(3, pass.Delivered);
        Assert.Equal(["node-1"], delivery.Batches.Select(b => b.Target).Distinct());
        Assert.Equal(new Dictionary<string, long> { ["node-2"] = 3, ["node-3"] = 3, ["node-4"] = 3, ["node-5"] = 3 }, harness.Log.Pending);

        // node-2 comes back: the next tick replays it.
        Members.Publish(membership, harness.Time, ("node-1", MemberState.Up), ("node-2", MemberState.Up));
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        await service.ReplayOnceAsync(default);
        Assert.Equal(Records.Many("node-2", 3), delivery.Delivered("node-2"));
        Assert.Equal(0, harness.Log.PendingFor("node-2"));
    }

    [Fact]
    public async Task ReplayStopsAtTheFirstFailedDeliveryAndResumesAtALaterTick()
    {
        await using var harness = new HintLogHarness(new HintOptions { ReplayBatchRecords = 10 });
        await harness.Log.StoreAsync("node-1", Records.Many("r", 50), default);
        var membership = Members.With(harness.Time, ("node-1", MemberState.Up));
        var calls = 0;
        var delivery = new RecordingDelivery { Accept = (_, _) => ++calls != 3 };
        var service = Service(harness, membership, delivery);
        harness.Time.Advance(TimeSpan.FromSeconds(1));

        var first = await service.ReplayOnceAsync(default);

        Assert.Equal(20, first.Delivered);
        Assert.Equal(["node-1"], first.FailedTargets);
        Assert.Equal(3, calls);
        Assert.Equal(30, harness.Log.PendingFor("node-1"));

        harness.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await service.ReplayOnceAsync(default);
        Assert.Equal(30, second.Delivered);
        Assert.Empty(second.FailedTargets);
        Assert.Equal(Records.Many("r", 50), delivery.Delivered("node-1"));
    }

    [Fact]
    public async Task ADeliveryThatThrowsIsAFailedDeliveryNotACrash()
    {
        await using var harness = new HintLogHarness();
        await harness.Log.StoreAsync("node-1", Records.Many("r", 5), default);
        var delivery = new RecordingDelivery { Throw = new TimeoutException("replica did not answer") };
        var service = Service(harness, Members.With(harness.Time, ("node-1", MemberState.Up)), delivery);
        harness.Time.Advance(TimeSpan.FromSeconds(1));

        var pass = await service.ReplayOnceAsync(default);

        Assert.Equal(["node-1"], pass.FailedTargets);
        Assert.Equal(5, harness.Log.PendingFor("node-1"));
    }

    [Fact]
    public async Task ReplayKeepsExactlyToTheConfiguredRate()
    {
        await using var harness = new HintLogHarness(new HintOptions { ReplayRecordsPerSecond = 1000, ReplayBatchRecords = 100 });
        await harness.Log.StoreAsync("node-1", Records.Many("a", 5000), default);
        await harness.Log.StoreAsync("node-2", Records.Many("b", 5000), default);
        var delivery = new RecordingDelivery();
        var service = Service(harness, Members.With(harness.Time, ("node-1", MemberState.Up), ("node-2", MemberState.Up)), delivery);

        // No time has passed since the service started: nothing may go out yet.
        Assert.Equal(0, (await service.ReplayOnceAsync(default)).Delivered);

        harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2 * 1000, (await service.ReplayOnceAsync(default)).Delivered);

        harness.Time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(2 * 250, (await service.ReplayOnceAsync(default)).Delivered);

        // Ticks in quick succession share the budget.
        harness.Time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(2 * 100, (await service.ReplayOnceAsync(default)).Delivered);
        Assert.Equal(0, (await service.ReplayOnceAsync(default)).Delivered);

        // A long pause does not bank more than one interval's worth.
        harness.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2 * 1000, (await service.ReplayOnceAsync(default)).Delivered);

        Assert.All(delivery.Batches, b => Assert.True(b.Records.Length <= 100, $"a batch of {b.Records.Length} records"));
        Assert.Equal(5000 - 2350, harness.Log.PendingFor("node-1"));
        Assert.Equal(5000 - 2350, harness.Log.PendingFor("node-2"));
        Assert.Equal(Records.Many("a", 2350), delivery.Delivered("node-1"));
    }

    [Fact]
    public async Task TheTickExpiresHintsOfTargetsThatAreDown()
    {
        await using var harness = new HintLogHarness(new HintOptions { Window = TimeSpan.FromHours(3) });
        await harness.Log.StoreAsync("node-2", Records.Many("r", 8), default);
        var service = Service(harness, Members.With(harness.Time, ("node-2", MemberState.Down)), new RecordingDelivery());

        harness.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, (await service.ReplayOnceAsync(default)).Expired);
        harness.Time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(8, (await service.ReplayOnceAsync(default)).Expired);
        Assert.Empty(harness.Log.Pending);
    }

    [Fact]
    public async Task WithoutADeliveryHintsAreKeptAndStillExpire()
    {
        await using var harness = new HintLogHarness(new HintOptions { Window = TimeSpan.FromMinutes(10) });
        await harness.Log.StoreAsync("node-1", Records.Many("r", 4), default);
        var service = Service(harness, Members.With(harness.Time, ("node-1", MemberState.Up)), delivery: null);

        harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, (await service.ReplayOnceAsync(default)).Delivered);
        Assert.Equal(4, harness.Log.PendingFor("node-1"));
        harness.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(4, (await service.ReplayOnceAsync(default)).Expired);
    }
}
