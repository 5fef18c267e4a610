using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using LogStream.Testing;
using Xunit.Abstractions;

namespace LogStream.Cluster.Tests;

/// <summary>The app host as a user runs it: every resource healthy, one cluster, failure detection end to end.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MembershipClusterTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan SuspicionTimeout = TimeSpan.FromSeconds(5);

    private async Task<JsonElement> ClusterViewAsync(string node)
    {
        using var client = cluster.Client(node);
        client.Timeout = TimeSpan.FromSeconds(5);
        return await client.GetFromJsonAsync<JsonElement>("/api/cluster");
    }

    private async Task<Dictionary<string, string>> StatesAsync(string observer) =>
        (await ClusterViewAsync(observer)).GetProperty("members").EnumerateArray()
            .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("state").GetString()!);

    [Fact]
    public async Task EveryNodeListsThreeMembersUpAndTheSameRing()
    {
        output.WriteLine($"app host started and healthy in {cluster.StartDuration.TotalSeconds:F1} s");
        var fingerprints = new List<string>();
        var tokenLists = new List<string>();
        foreach (var node in ClusterFixture.Nodes)
        {
            await Wait.UntilAsync(async () => (await StatesAsync(node)).Count(s => s.Value == "up") == 3,
                TimeSpan.FromSeconds(10), $"{node} to list three members up");
            var view = await ClusterViewAsync(node);
            Assert.Equal(ClusterFixture.Nodes, view.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
            Assert.False(view.GetProperty("degraded").GetBoolean());
            fingerprints.Add(view.GetProperty("ring").GetProperty("fingerprint").GetString()!);
            tokenLists.Add(view.GetProperty("ring").GetProperty("tokens").GetRawText());
        }
        Assert.Single(fingerprints.Distinct());
        Assert.Single(tokenLists.Distinct());
    }

    [Fact]
    public async Task TheDashboardListsTheThreeMembersUp()
    {
        using var web = cluster.Client("web");
        await Wait.UntilAsync(async () =>
        {
            var report = await web.GetFromJsonAsync<JsonElement>("/api/cluster");
            return report.GetProperty("cluster").GetProperty("members").EnumerateArray().Count(m => m.GetProperty("state").GetString() == "up") == 3;
        }, TimeSpan.FromSeconds(10), "the dashboard's /api/cluster to show three members up");

        var page = await web.GetStringAsync("/");
        foreach (var node in ClusterFixture.Nodes)
            Assert.Contains($"data-node=\"{node}\"", page);
        Assert.Equal(3, page.Split("class=\"state up\"").Length - 1);
    }

    [Fact]
    public async Task AStoppedNodeIsMarkedDownByTheOthersWithinTheSuspicionTimeoutAndUpAgainWhenStarted()
    {
        const string victim = "node-2";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await Wait.UntilAsync(async () => (await StatesAsync("node-0"))[victim] == "up", TimeSpan.FromSeconds(10), $"{victim} up before the test");

        var result = await cluster.ExecuteAsync(victim, KnownResourceCommands.StopCommand, timeout.Token);
        Assert.True(result.Success, result.Message);
        var clock = Stopwatch.StartNew();
        foreach (var observer in new[] { "node-0", "node-1" })
        {
            await Wait.UntilAsync(async () => (await StatesAsync(observer))[victim] == "down",
                SuspicionTimeout + TimeSpan.FromSeconds(2), $"{observer} to mark the stopped {victim} down within the suspicion timeout + 2 s");
        }
        output.WriteLine($"{victim} seen down by both peers {clock.ElapsedMilliseconds} ms after the stop command returned");

        result = await cluster.ExecuteAsync(victim, KnownResourceCommands.StartCommand, timeout.Token);
        Assert.True(result.Success, result.Message);
        await cluster.App.ResourceNotifications.WaitForResourceHealthyAsync(victim, timeout.Token);
        foreach (var observer in ClusterFixture.Nodes)
        {
            await Wait.UntilAsync(async () => (await StatesAsync(observer))[victim] == "up",
                TimeSpan.FromSeconds(10), $"{observer} to see the restarted {victim} up");
        }
    }
}
