using System.Net;
using System.Text.Json;
using LogStream.Testing;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace LogStream.Integration.Tests.Replication;

/// <summary>A three-node cluster of its own: this test empties its Redis.</summary>
public sealed class ForgottenMembersClusterFixture : NodeClusterFixture;

/// <summary>
/// Issue 14: when Redis loses its data, a node's ring must not shrink to the members Redis lists. W counts from the
/// replication factor, and the members this node saw before (remembered in its data directory) stay in placement, down,
/// so that their copies become hints.
/// </summary>
public sealed class ForgottenMembersTests(ForgottenMembersClusterFixture fixture, ITestOutputHelper output) : IClassFixture<ForgottenMembersClusterFixture>
{
    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static async Task<Dictionary<string, string>> StatesAsync(NodeProcess observer) =>
        (await observer.GetJsonAsync("/api/cluster")).GetProperty("members").EnumerateArray()
            .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("state").GetString()!);

    private static async Task<double> HintsPendingAsync(NodeProcess node, string target) =>
        PrometheusText.Sum(await node.Http.GetStringAsync("/metrics"), "logstream_hints_pending", ("target", target));

    [SkippableFact]
    public async Task AfterRedisLosesItsDataAQuorumWriteWithTwoReplicasStoppedIsRefusedAndHintedForThem()
    {
        var cluster = fixture.Require();
        var run = "fm" + Guid.NewGuid().ToString("N")[..8];
        using (var before = await cluster[0].Http.PostAsync(TestRecords.Generate(20, run + "-before", sources: 1), "QUORUM"))
            Assert.True(before.StatusCode == HttpStatusCode.OK, await before.Content.ReadAsStringAsync());

        var (one, two) = (cluster[1], cluster[2]);
        await cluster.StopAsync(1);
        await cluster.StopAsync(2);

        // Redis forgets every member; node-0 then starts again and finds only itself in the member table.
        await using (var admin = await ConnectionMultiplexer.ConnectAsync($"{cluster.Redis.ConnectionString},allowAdmin=true"))
            await admin.GetServer(cluster.Redis.ConnectionString).FlushAllDatabasesAsync();
        var zero = cluster[0];
        await zero.StopAsync();
        await cluster.RestartAsync(0, zero);
        var states = await StatesAsync(cluster[0]);
        output.WriteLine($"node-0 after the restart: {string.Join(", ", states.Select(s => $"{s.Key} {s.Value}"))}");

        var records = TestRecords.Generate(40, run, sources: 1);
        using var quorum = await cluster[0].Http.PostAsync(records, "QUORUM");
        var problem = await BodyAsync(quorum);
        Assert.True(quorum.StatusCode == HttpStatusCode.ServiceUnavailable, $"QUORUM answered {(int)quorum.StatusCode}: {problem}\n{cluster.Logs()}");
        Assert.Equal("Write quorum not reached", problem.GetProperty("title").GetString());
        var partition = Assert.Single(problem.GetProperty("failed_partitions").EnumerateArray());
        Assert.Contains(partition.GetProperty("partition").GetString()!, problem.GetProperty("detail").GetString());
        Assert.Equal(2, partition.GetProperty("required").GetInt32());
        var failed = partition.GetProperty("failed").EnumerateArray().ToList();
        Assert.Equal(["node-1", "node-2"], failed.Select(f => f.GetProperty("replica").GetString()).Order());
        Assert.All(failed, f => Assert.True(f.GetProperty("hinted").GetBoolean(), f.ToString()));

        // The members Redis forgot are listed down (remembered), and node-0 holds the records for each of them.
        Assert.Equal(new Dictionary<string, string> { ["node-0"] = "up", ["node-1"] = "down", ["node-2"] = "down" }, await StatesAsync(cluster[0]));
        foreach (var target in new[] { "node-1", "node-2" })
        {
            await Wait.UntilAsync(async () => await HintsPendingAsync(cluster[0], target) >= records.Count, TimeSpan.FromSeconds(10),
                $"node-0 to hold {records.Count} hints for {target}");
        }

        using (var atOne = await cluster[0].Http.PostAsync(TestRecords.Generate(10, run + "-one", sources: 1), "ONE"))
            Assert.True(atOne.StatusCode == HttpStatusCode.OK, await atOne.Content.ReadAsStringAsync());

        // node-1 comes back (registers in the empty Redis): the hints reach it.
        await cluster.RestartAsync(1, one);
        await Wait.UntilAsync(
            async () => (await cluster[1].Http.QueryIdsAsync($"source={records[0].Source}&consistency=ONE&limit=1000")).Count == records.Count,
            TimeSpan.FromSeconds(30), $"node-1 to receive the {records.Count} records hinted for it");
        await cluster.RestartAsync(2, two);
    }
}
