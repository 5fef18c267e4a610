using System.Text.Json;

namespace LogStream.Testing;

/// <summary>
/// A real cluster for tests: one redis-server and N node processes (default 3) with a cluster name of their own,
/// started together; nodes can be stopped (SIGTERM), killed (SIGKILL) and restarted with the same identity.
/// </summary>
public sealed class NodeCluster : IAsyncDisposable
{
    private readonly TempDirectory _data;
    private readonly Dictionary<string, string> _settings;

    private NodeCluster(RedisServerProcess redis, TempDirectory data, string clusterName, Dictionary<string, string> settings, NodeProcess?[] nodes)
    {
        Redis = redis;
        _data = data;
        ClusterName = clusterName;
        _settings = settings;
        Nodes = nodes;
    }

    public RedisServerProcess Redis { get; }

    public string ClusterName { get; }

    /// <summary>node-i at index i; null while stopped.</summary>
    public NodeProcess?[] Nodes { get; }

    public NodeProcess this[int index] => Nodes[index] ?? throw new InvalidOperationException($"node-{index} is stopped");

    public static async Task<NodeCluster> StartAsync(int nodes = 3, IReadOnlyDictionary<string, string>? settings = null)
    {
        var redis = await RedisServerProcess.StartAsync();
        var data = new TempDirectory("logstream-cluster");
        var clusterName = "it-" + Guid.NewGuid().ToString("N")[..10];
        var all = new Dictionary<string, string>(settings ?? new Dictionary<string, string>()) { ["LogStream:ClusterName"] = clusterName };
        var cluster = new NodeCluster(redis, data, clusterName, all, new NodeProcess?[nodes]);
        try
        {
            var started = await Task.WhenAll(Enumerable.Range(0, nodes).Select(i => NodeProcess.StartAsync(cluster.Spec(i))));
            started.CopyTo(cluster.Nodes, 0);
            await cluster.WaitForStatesAsync(Enumerable.Range(0, nodes).ToDictionary(i => $"node-{i}", _ => "up"), TimeSpan.FromSeconds(20));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private NodeSpec Spec(int index) => new($"node-{index}", _data.Sub($"node-{index}"), Redis.ConnectionString) { Settings = _settings };

    /// <summary>Graceful stop (SIGTERM): the node announces itself stopped; peers mark it down at once.</summary>
    public async Task StopAsync(int index)
    {
        var node = this[index];
        await node.DisposeAsync();
        Nodes[index] = null;
        await WaitForStatesAsync(new() { [node.NodeId] = "down" }, TimeSpan.FromSeconds(10));
    }

    /// <summary>Starts a stopped node again with its id, data directory and ports; waits until every running node sees it up.</summary>
    public async Task<NodeProcess> RestartAsync(int index, NodeProcess stopped)
    {
        if (!stopped.Process.HasExited)
            throw new InvalidOperationException($"{stopped.NodeId} is still running");
        await stopped.DisposeAsync();
        var node = await NodeProcess.StartAsync(stopped.Spec with { Port = stopped.BaseAddress.Port });
        Nodes[index] = node;
        await WaitForStatesAsync(new() { [node.NodeId] = "up" }, TimeSpan.FromSeconds(20));
        return node;
    }

    /// <summary>Waits until every running node reports the given member states.</summary>
    public Task WaitForStatesAsync(Dictionary<string, string> expected, TimeSpan timeout) =>
        Wait.UntilAsync(async () =>
        {
            foreach (var node in Nodes.Where(n => n is not null))
            {
                var view = await node!.GetJsonAsync("/api/cluster");
                var states = view.GetProperty("members").EnumerateArray()
                    .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("state").GetString()!);
                if (expected.Any(e => states.GetValueOrDefault(e.Key) != e.Value))
                    return false;
            }
            return true;
        }, timeout, $"every running node to see {string.Join(", ", expected.Select(e => $"{e.Key} {e.Value}"))}");

    /// <summary>The last lines of every node's output, for a failing test's message.</summary>
    public string Logs(int lines = 25) => string.Join(Environment.NewLine,
        Nodes.Where(n => n is not null).Select(n => $"--- {n!.NodeId} ---{Environment.NewLine}{n.Process.RecentOutput(lines)}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            if (node is not null)
                await node.DisposeAsync();
        }
        await Redis.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>Reads one value out of Prometheus text exposition (what a node serves at /metrics).</summary>
public static class PrometheusText
{
    /// <summary>Sum of every sample of <paramref name="metric"/> whose labels include all of <paramref name="labels"/>.</summary>
    public static double Sum(string exposition, string metric, params (string Name, string Value)[] labels)
    {
        double total = 0;
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(metric, StringComparison.Ordinal))
                continue;
            var rest = line[metric.Length..];
            if (rest.Length == 0 || (rest[0] != '{' && rest[0] != ' '))
                continue;
            if (labels.Any(l => !rest.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal)))
                continue;
            var value = line[(line.LastIndexOf(' ') + 1)..];
            total += double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return total;
    }
}
