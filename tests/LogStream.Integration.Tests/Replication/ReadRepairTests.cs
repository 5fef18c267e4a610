using System.Net.Http.Json;
using System.Text.Json;
using LogStream.Testing;

namespace LogStream.Integration.Tests.Replication;

/// <summary>
/// A cluster whose nodes store no hints and run no background anti-entropy, so a node that was down really misses
/// the writes it did not see, and only a read can give them back.
/// </summary>
public sealed class NoHintsClusterFixture : NodeClusterFixture
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["LogStream:Hints:Enabled"] = "false",
        ["LogStream:Repair:Enabled"] = "false",
    };
}

public sealed class ReadRepairTests(NoHintsClusterFixture fixture) : IClassFixture<NoHintsClusterFixture>
{
    [SkippableFact]
    public async Task AReplicaThatMissedWritesGetsThemAfterAQuorumReadThatTouchedIt()
    {
        var cluster = fixture.Require();
        var records = TestRecords.Generate(120, "rr" + Guid.NewGuid().ToString("N")[..6], sources: 1);
        var source = records[0].Source;
        var stopped = cluster[2];
        await cluster.StopAsync(2);
        using (var write = await cluster[0].Http.PostAsync(records, "QUORUM"))
            Assert.True(write.IsSuccessStatusCode, await write.Content.ReadAsStringAsync());
        var node2 = await cluster.RestartAsync(2, stopped);
        Assert.Empty(await node2.Http.QueryIdsAsync($"source={source}&consistency=ONE&limit=1000"));

        // Coordinated by node-2, a QUORUM read asks node-2 itself and one peer: the answers differ.
        var read = await node2.Http.GetFromJsonAsync<JsonElement>($"/api/logs?source={source}&consistency=QUORUM&limit=1000");

        Assert.Equal(120, read.GetProperty("records").GetArrayLength());
        Assert.Equal(120, read.GetProperty("read_repaired").GetInt32());
        var local = await node2.Http.QueryIdsAsync($"source={source}&consistency=ONE&limit=1000");
        Assert.Equal(records.Select(r => r.Id).Order(), local.Order());
        var metrics = await node2.Http.GetStringAsync("/metrics");
        Assert.Equal(120, PrometheusText.Sum(metrics, "logstream_records_read_repaired_total"));
    }
}
