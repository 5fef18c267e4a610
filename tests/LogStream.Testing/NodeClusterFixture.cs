using Xunit;

namespace LogStream.Testing;

/// <summary>
/// A <see cref="NodeCluster"/> started once for a test class or collection. Derive and override <see cref="Settings"/>
/// to configure its nodes. Without redis-server the tests skip (fail under CI=true) through <see cref="Require"/>.
/// </summary>
public abstract class NodeClusterFixture : IAsyncLifetime
{
    private NodeCluster? _cluster;

    /// <summary>Configuration every node of the cluster gets.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>();

    public NodeCluster Require()
    {
        RequiredTool.Require("redis-server", "apt-get install redis-server");
        return _cluster ?? throw new InvalidOperationException("the cluster did not start");
    }

    public async Task InitializeAsync()
    {
        if (RequiredTool.Find("redis-server") is not null)
            _cluster = await NodeCluster.StartAsync(settings: Settings);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }
}
