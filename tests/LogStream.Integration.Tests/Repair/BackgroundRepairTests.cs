using LogStream.Testing;

namespace LogStream.Integration.Tests.Repair;

/// <summary>A cluster without hints and with a one-second anti-entropy interval: the background service alone must heal.</summary>
public sealed class BackgroundRepairClusterFixture : NodeClusterFixture
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["LogStream:Hints:Enabled"] = "false",
        ["LogStream:Repair:Interval"] = "00:00:01",
    };
}

public sealed class BackgroundRepairTests(BackgroundRepairClusterFixture fixture) : IClassFixture<BackgroundRepairClusterFixture>
{
    [SkippableFact]
    public async Task ANodeThatMissedWritesIsHealedByTheBackgroundRoundsAlone()
    {
        var cluster = fixture.Require();
        var records = TestRecords.Generate(1500, "bg" + Guid.NewGuid().ToString("N")[..8], sources: 2);
        var stopped = cluster[2];
        await cluster.StopAsync(2);
        foreach (var batch in records.Chunk(500))
        {
            using var write = await cluster[0].Http.PostAsync(batch, "QUORUM");
            Assert.True(write.IsSuccessStatusCode, await write.Content.ReadAsStringAsync());
        }
        var node2 = await cluster.RestartAsync(2, stopped);

        foreach (var source in records.Select(r => r.Source).Distinct())
        {
            var expected = records.Where(r => r.Source == source).Select(r => r.Id).Order().ToList();
            await Wait.UntilAsync(async () => (await node2.Http.QueryIdsAsync($"consistency=ONE&limit=10000&source={source}")).Count == expected.Count,
                TimeSpan.FromSeconds(30), $"background anti-entropy to give node-2 every record of {source}");
            Assert.Equal(expected, (await node2.Http.QueryIdsAsync($"consistency=ONE&limit=10000&source={source}")).Order());
        }
        var completed = 0.0;
        for (var i = 0; i < 3; i++)
            completed += PrometheusText.Sum(await cluster[i].Http.GetStringAsync("/metrics"), "logstream_repairs_completed_total");
        Assert.True(completed > 0, "the records came back, so some repair must have completed and been counted");
    }
}
