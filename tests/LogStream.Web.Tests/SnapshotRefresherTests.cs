using System.Text.Json;
using LogStream.Web.Diagnostics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LogStream.Web.Tests;

/// <summary>The background refresh behind <c>GET /metrics</c>, against three in-memory nodes and a fake clock.</summary>
public sealed class SnapshotRefresherTests
{
    private static readonly JsonSerializerOptions SnakeCase = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    [Fact]
    public async Task EachRefreshPublishesANewLastUpdateAndEveryNodesFigures()
    {
        var cluster = new FakeCluster();
        cluster.Nodes["node-0"].Ingested = 40;
        cluster.Nodes["node-2"].Ingested = 2;
        cluster.Nodes["node-1"].RepairsCompleted = 3;
        cluster.ErrorCount = 5;
        var dashboard = cluster.CreateDashboard();

        var first = await dashboard.Refresher.RefreshAsync(CancellationToken.None);
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        cluster.Nodes["node-1"].Ingested = 10;
        var second = await dashboard.Refresher.RefreshAsync(CancellationToken.None);

        Assert.Equal(FakeCluster.Epoch, first.LastUpdate);
        Assert.Equal(FakeCluster.Epoch.AddSeconds(1), second.LastUpdate);
        Assert.Same(second, dashboard.Store.Current);
        Assert.Equal(42, first.Ingested);
        Assert.Equal(52, second.Ingested);
        Assert.Equal(10, second.Rate);
        Assert.Equal(3, second.RepairsCompleted);
        // The ERROR count runs beside the refreshes: started by the first, published by the next.
        Assert.Null(first.ErrorCount);
        Assert.Equal(5, second.ErrorCount);
        Assert.Equal(3, second.Nodes.Count);
        Assert.All(second.Nodes, n => Assert.True(n.Reachable));
        Assert.Equal("in_sync", Assert.Single(second.Partitions).Status);
        // The ERROR count is a cluster query: taken every 5 s, not every second.
        Assert.Single(cluster.Calls, c => c.StartsWith("GET node-0/api/logs?min_level=ERROR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheRefreshsCallsAreMarkedAsBackgroundPollingAndTheDemosAreNot()
    {
        var cluster = new FakeCluster();
        var dashboard = cluster.CreateDashboard();
        await dashboard.Refresher.RefreshAsync(CancellationToken.None);
        Assert.Equal(cluster.Calls.Count, cluster.PollCalls.Count);
        Assert.Contains("GET node-1/api/node", cluster.PollCalls);

        await dashboard.Demo.RunAsync(CancellationToken.None);
        Assert.DoesNotContain(cluster.PollCalls, c => c.StartsWith("POST", StringComparison.Ordinal));
        Assert.Contains(cluster.Calls, c => c.StartsWith("POST", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheBackgroundServiceRefreshesOncePerSecondOfItsClock()
    {
        var cluster = new FakeCluster();
        var dashboard = cluster.CreateDashboard();
        using var stop = new CancellationTokenSource();
        await dashboard.Refresher.StartAsync(stop.Token);
        try
        {
            await WaitForAsync(() => dashboard.Store.Current.LastUpdate == FakeCluster.Epoch, "the first refresh at start");
            for (var second = 1; second <= 3; second++)
            {
                cluster.Time.Advance(TimeSpan.FromSeconds(1));
                var expected = FakeCluster.Epoch.AddSeconds(second);
                await WaitForAsync(() => dashboard.Store.Current.LastUpdate == expected, $"the refresh at +{second} s");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await dashboard.Refresher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task ANodeThatGoesDownIsReportedAndItsFiguresAreKept()
    {
        var cluster = new FakeCluster();
        cluster.Nodes["node-2"].Ingested = 7;
        var dashboard = cluster.CreateDashboard();
        await dashboard.Refresher.RefreshAsync(CancellationToken.None);

        cluster.Nodes["node-2"].Down = true;
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        var snapshot = await dashboard.Refresher.RefreshAsync(CancellationToken.None);

        Assert.True(snapshot.Stale);
        Assert.Equal(7, snapshot.Ingested);
        var node2 = snapshot.Nodes.Single(n => n.Id == "node-2");
        Assert.False(node2.Reachable);
        Assert.Contains("Connection refused", node2.Error, StringComparison.Ordinal);
        Assert.Contains(snapshot.Problems, p => p.StartsWith("node-2 does not answer", StringComparison.Ordinal));
        Assert.Equal("unknown", Assert.Single(snapshot.Partitions).Status);

        // Once the membership says down, the refresh no longer waits on the node.
        cluster.Nodes["node-2"].State = "down";
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        int Node2Polls() => cluster.Calls.Count(c => c.StartsWith("GET node-2/api/node", StringComparison.Ordinal));
        var before = Node2Polls();
        snapshot = await dashboard.Refresher.RefreshAsync(CancellationToken.None);
        Assert.Equal(before, Node2Polls());
        Assert.Contains(snapshot.Problems, p => p.StartsWith("node-2 is down (last heartbeat", StringComparison.Ordinal));
        Assert.Equal(7, snapshot.Ingested);
    }

    [Fact]
    public async Task TheSnapshotJsonHasSnakeCaseNumericFigures()
    {
        var cluster = new FakeCluster();
        var dashboard = cluster.CreateDashboard();
        var snapshot = await dashboard.Refresher.RefreshAsync(CancellationToken.None);

        using var json = JsonDocument.Parse(JsonSerializer.Serialize(snapshot, SnakeCase));
        var root = json.RootElement;
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("last_update").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        foreach (var field in new[] { "ingested", "rate", "repairs_completed", "records_repaired", "hints_pending", "quorum_failures", "records_stored", "disk_bytes" })
            Assert.Equal(JsonValueKind.Number, root.GetProperty(field).ValueKind);
        var node = root.GetProperty("nodes")[0];
        foreach (var field in new[] { "records", "partitions", "disk_bytes", "ingested", "repairs_completed" })
            Assert.Equal(JsonValueKind.Number, node.GetProperty(field).ValueKind);
        Assert.False(root.TryGetProperty("history", out _));
        Assert.False(node.TryGetProperty("bucket_entries", out _));
    }

    [Fact]
    public async Task EveryRefreshIsCountedOnTheWebMeter()
    {
        var cluster = new FakeCluster();
        var dashboard = cluster.CreateDashboard();
        using var refreshes = new MetricCollector<long>(dashboard.MeterFactory, WebInstrumentNames.Meter, WebInstrumentNames.SnapshotRefreshes);
        using var polls = new MetricCollector<long>(dashboard.MeterFactory, WebInstrumentNames.Meter, WebInstrumentNames.NodePolls);

        await dashboard.Refresher.RefreshAsync(CancellationToken.None);
        cluster.Nodes["node-1"].Down = true;
        await dashboard.Refresher.RefreshAsync(CancellationToken.None);

        Assert.Equal(["fresh", "stale"], refreshes.GetMeasurementSnapshot().Select(m => (string)m.Tags["outcome"]!));
        Assert.Equal(1, polls.GetMeasurementSnapshot().Count(m => (string)m.Tags["node"]! == "node-1" && (string)m.Tags["outcome"]! == "failed"));
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
                throw new TimeoutException($"Timed out after 10 s waiting for {what}.");
            await Task.Delay(10, CancellationToken.None);
        }
    }
}
