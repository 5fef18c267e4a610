using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LogStream.Testing;
using Xunit.Abstractions;

namespace LogStream.Browser.Tests;

/// <summary>The web's <c>GET /metrics</c> JSON snapshot and <c>POST /api/demo/run</c>, over HTTP against the running app host.</summary>
[Collection(AppHostCollection.Name)]
public sealed class WebMetricsTests(AppHostFixture host, ITestOutputHelper output)
{
    private static readonly string[] NumericFields =
        ["ingested", "rate", "repairs_completed", "records_repaired", "hints_pending", "quorum_failures", "records_stored", "disk_bytes"];

    private static readonly string[] NodeNumericFields =
        ["records", "partitions", "disk_bytes", "ingested", "repairs_completed", "records_repaired", "hints_pending", "quorum_failures"];

    [Fact]
    public async Task LastUpdateChangesEverySecondAndTheFiguresAreNumeric()
    {
        var samples = new List<(TimeSpan At, JsonElement Snapshot)>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 4; i++)
        {
            samples.Add((clock.Elapsed, await host.SnapshotAsync()));
            if (i < 3)
                await Task.Delay(TimeSpan.FromSeconds(1.1));
        }

        var updates = samples.Select(s => DateTimeOffset.Parse(s.Snapshot.GetProperty("last_update").GetString()!, CultureInfo.InvariantCulture)).ToList();
        output.WriteLine(string.Join(Environment.NewLine, samples.Select((s, i) => $"+{s.At.TotalMilliseconds:0} ms: last_update {updates[i]:HH:mm:ss.fff}")));
        for (var i = 1; i < updates.Count; i++)
        {
            Assert.True(updates[i] > updates[i - 1], $"last_update did not change between samples {i - 1} and {i} taken 1.1 s apart");
            Assert.InRange((updates[i] - updates[i - 1]).TotalSeconds, 0.5, 2.5);
        }

        foreach (var (_, snapshot) in samples)
        {
            foreach (var field in NumericFields)
                Assert.True(snapshot.GetProperty(field).ValueKind == JsonValueKind.Number, $"{field} is a number: {snapshot.GetProperty(field)}");
            Assert.False(snapshot.GetProperty("stale").GetBoolean(), $"stale snapshot: {snapshot.GetProperty("problems")}");
            var nodes = snapshot.GetProperty("nodes").EnumerateArray().ToList();
            Assert.Equal(AppHostFixture.Nodes, nodes.Select(n => n.GetProperty("id").GetString()));
            foreach (var node in nodes)
            {
                Assert.Equal("up", node.GetProperty("state").GetString());
                Assert.True(node.GetProperty("reachable").GetBoolean());
                foreach (var field in NodeNumericFields)
                    Assert.True(node.GetProperty(field).ValueKind == JsonValueKind.Number, $"nodes[].{field} is a number");
            }
        }
    }

    [Fact]
    public async Task RunDemoWritesAtQuorumThroughTheNodesAndMakesOneReplicaLoseRecords()
    {
        var before = await host.SnapshotAsync();
        var demo = await host.RunDemoAsync();
        output.WriteLine(demo.GetProperty("summary").GetString());

        Assert.Equal("QUORUM", demo.GetProperty("consistency").GetString());
        Assert.Equal(demo.GetProperty("records_sent").GetInt32(), demo.GetProperty("accepted").GetInt32());
        Assert.InRange(demo.GetProperty("error_records").GetInt32(), 1, demo.GetProperty("records_sent").GetInt32() / 10);
        Assert.True(demo.GetProperty("sources").GetArrayLength() >= 4);
        var chaos = demo.GetProperty("chaos");
        Assert.True(chaos.GetProperty("enabled").GetBoolean());
        Assert.True(chaos.GetProperty("removed").GetInt64() > 0, $"the victim lost records: {chaos}");

        var ingestedBefore = before.GetProperty("ingested").GetInt64();
        var accepted = demo.GetProperty("accepted").GetInt64();
        await Wait.UntilAsync(async () => (await host.SnapshotAsync()).GetProperty("ingested").GetInt64() >= ingestedBefore + accepted,
            TimeSpan.FromSeconds(5), $"/metrics ingested to grow by the {accepted} accepted records");
    }
}
