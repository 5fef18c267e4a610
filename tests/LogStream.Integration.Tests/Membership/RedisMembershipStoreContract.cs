using LogStream.Node.Membership;
using LogStream.Testing;
using StackExchange.Redis;

namespace LogStream.Integration.Tests.Membership;

/// <summary>The membership contract against a real redis-server.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisMembershipStoreContract(RedisFixture redis) : MembershipStoreContract
{
    protected override Task<IMembershipStore> CreateStoreAsync(string clusterName)
    {
        redis.Require();
        return Task.FromResult<IMembershipStore>(new RedisMembershipStore(() => redis.Connection, clusterName));
    }
}

/// <summary>The same contract against embedded Garnet, the fallback when neither Docker nor redis-server exists.</summary>
public sealed class GarnetMembershipStoreContract : MembershipStoreContract, IClassFixture<GarnetMembershipStoreContract.GarnetFixture>
{
    private readonly GarnetFixture _garnet;

    public GarnetMembershipStoreContract(GarnetFixture garnet) => _garnet = garnet;

    protected override Task<IMembershipStore> CreateStoreAsync(string clusterName) =>
        Task.FromResult<IMembershipStore>(new RedisMembershipStore(() => _garnet.Connection, clusterName));

    public sealed class GarnetFixture : IAsyncLifetime
    {
        private GarnetServerHost? _server;

        public ConnectionMultiplexer Connection { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            _server = new GarnetServerHost();
            Connection = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString);
        }

        public async Task DisposeAsync()
        {
            await Connection.DisposeAsync();
            _server?.Dispose();
        }
    }
}
