using LogStream.Testing;
using StackExchange.Redis;

namespace LogStream.Integration.Tests;

/// <summary>One real redis-server for the whole test collection (started once, bounded start-up).</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private RedisServerProcess? _server;
    private string? _unavailable;

    public RedisServerProcess Server => Require();

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (RequiredTool.Find("redis-server") is null)
        {
            _unavailable = "redis-server is not installed (apt-get install redis-server; .ci/run installs it)";
            return;
        }
        _server = await RedisServerProcess.StartAsync();
        Connection = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString);
    }

    /// <summary>The server; skips the calling test when redis-server is missing (fails under CI=true).</summary>
    public RedisServerProcess Require()
    {
        if (_server is null)
            RequiredTool.Unavailable(_unavailable ?? "redis-server did not start");
        return _server!;
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
            await Connection.DisposeAsync();
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "redis";
}
