namespace LogStream.Web.Tests;

/// <summary>Run Demo against three in-memory nodes: what it writes, where, and what it makes a replica lose.</summary>
public sealed class DemoRunnerTests
{
    [Fact]
    public async Task RunDemoWritesTheBatchAtQuorumAndMakesAnotherReplicaLoseRecords()
    {
        var cluster = new FakeCluster();
        var dashboard = cluster.CreateDashboard(chaos: true, demoRecords: 100);

        var result = await dashboard.Demo.RunAsync(CancellationToken.None);

        Assert.True(result.Succeeded, result.Summary);
        Assert.Equal(100, result.RecordsSent);
        Assert.Equal(100, result.Accepted);
        Assert.Equal(3, result.ErrorRecords);
        Assert.Equal("QUORUM", result.Consistency);
        var writes = cluster.Calls.Where(c => c.StartsWith("POST ", StringComparison.Ordinal) && c.Contains("/api/logs", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, writes.Count);   // 100 records in batches of 40
        Assert.All(writes, w => Assert.EndsWith($"{result.Coordinator}/api/logs?consistency=QUORUM", w.Replace("POST ", "", StringComparison.Ordinal), StringComparison.Ordinal));
        Assert.NotEmpty(result.Partitions);
        Assert.True(result.Chaos.Enabled);
        Assert.NotNull(result.Chaos.Node);
        Assert.NotEqual(result.Coordinator, result.Chaos.Node);
        Assert.True(result.Chaos.Removed > 0);
        Assert.Equal(result.Chaos.Removed, cluster.Nodes[result.Chaos.Node!].Lost);
        Assert.Contains($"{result.Chaos.Node} lost {result.Chaos.Removed} records", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SuccessiveRunsRotateTheCoordinatorAndUseFreshIds()
    {
        var cluster = new FakeCluster();
        var dashboard = cluster.CreateDashboard(chaos: false, demoRecords: 10);
        var first = await dashboard.Demo.RunAsync(CancellationToken.None);
        var second = await dashboard.Demo.RunAsync(CancellationToken.None);
        Assert.NotEqual(first.Coordinator, second.Coordinator);
        Assert.NotEqual(first.RunId, second.RunId);
        Assert.Equal(20, cluster.Nodes.Values.Sum(n => n.Ingested));
    }

    [Fact]
    public async Task WithoutChaosNothingIsLost()
    {
        var cluster = new FakeCluster();
        var dashboard = cluster.CreateDashboard(chaos: false);
        var result = await dashboard.Demo.RunAsync(CancellationToken.None);
        Assert.True(result.Succeeded);
        Assert.False(result.Chaos.Enabled);
        Assert.Equal(0, result.Chaos.Removed);
        Assert.DoesNotContain(cluster.Calls, c => c.Contains("/api/chaos", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACoordinatorThatDoesNotAnswerIsReplacedByAnotherUpMember()
    {
        var cluster = new FakeCluster();
        var dashboard = cluster.CreateDashboard(chaos: false, demoRecords: 80);
        cluster.Nodes["node-1"].Down = true;    // still listed up: the membership has not noticed yet
        cluster.Nodes["node-2"].Down = true;
        var result = await dashboard.Demo.RunAsync(CancellationToken.None);
        Assert.True(result.Succeeded, result.Summary);
        Assert.Equal(80, result.Accepted);
        Assert.Equal("node-0", result.Coordinator);
        Assert.NotEmpty(result.WriteFailures);
    }

    [Fact]
    public async Task WhenNoNodeAnswersTheDemoSaysSoAndWritesNothing()
    {
        var cluster = new FakeCluster();
        foreach (var node in cluster.Nodes.Values)
            node.Down = true;
        var dashboard = cluster.CreateDashboard();
        var result = await dashboard.Demo.RunAsync(CancellationToken.None);
        Assert.False(result.Succeeded);
        Assert.Equal(0, result.Accepted);
        Assert.StartsWith("Nothing written: no node answers", result.Summary, StringComparison.Ordinal);
    }
}
