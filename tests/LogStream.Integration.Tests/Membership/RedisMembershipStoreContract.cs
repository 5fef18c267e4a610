using LogStream.Node.Membership;
using LogStream.Testing;
using StackExchange.Redis;

namespace LogStream.Integration.Tests.Membership;

/// <summary>
/// Each store on its own connection, as each node has one: transactions of different connections interleave on the
/// server (one connection would send every WATCH … EXEC block in order and hide conflicts).
/// </summary>
internal sealed class OwnConnections : IAsyncDisposable
{
    private readonly Func<string> _connectionString;
    private readonly List<ConnectionMultiplexer> _connections = [];

    public OwnConnections(Func<string> connectionString)
    {
        _connectionString = connectionString;
        // Up to 16 connections per test, and an embedded Garnet, share this process's thread pool (a node has one
        // connection per process): start with enough workers that a burst of transactions does not wait seconds for
        // the pool to inject threads and run into the client's 5 s timeout.
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (workers < 64)
            ThreadPool.SetMinThreads(64, io);
    }

    public async Task<IMembershipStore> CreateStoreAsync(string clusterName)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(_connectionString());
        lock (_connections)
            _connections.Add(connection);
        return new RedisMembershipStore(() => connection, clusterName);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
            await connection.DisposeAsync();
    }
}

/// <summary>The membership contract against a real redis-server.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisMembershipStoreContract(RedisFixture redis) : MembershipStoreContract, IAsyncLifetime
{
    private readonly OwnConnections _connections = new(() => redis.Require().ConnectionString);

    protected override Task<IMembershipStore> CreateStoreAsync(string clusterName) => _connections.CreateStoreAsync(clusterName);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _connections.DisposeAsync().AsTask();
}

/// <summary>The same contract against embedded Garnet, the fallback when neither Docker nor redis-server exists.</summary>
public sealed class GarnetMembershipStoreContract : MembershipStoreContract, IClassFixture<GarnetMembershipStoreContract.GarnetFixture>, IAsyncLifetime
{
    private readonly OwnConnections _connections;

    public GarnetMembershipStoreContract(GarnetFixture garnet) => _connections = new(() => garnet.ConnectionString);

    protected override Task<IMembershipStore> CreateStoreAsync(string clusterName) => _connections.CreateStoreAsync(clusterName);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _connections.DisposeAsync().AsTask();

    public sealed class GarnetFixture : IAsyncLifetime
    {
        private GarnetServerHost? _server;

        public string ConnectionString => _server!.ConnectionString;

        public Task InitializeAsync()
        {
            _server = new GarnetServerHost();
            return Task.CompletedTask;
        }

        public Task DisposeAsync()
        {
            _server?.Dispose();
            return Task.CompletedTask;
        }
    }
}
