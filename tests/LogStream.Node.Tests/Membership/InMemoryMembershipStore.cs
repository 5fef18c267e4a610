using System.Collections.Concurrent;
using LogStream.Node.Membership;

namespace LogStream.Node.Tests.Membership;

/// <summary>
/// The member table in memory, for unit tests only (never for integration or cluster tests). Stores made from one
/// <see cref="InMemoryMembershipServer"/> with the same cluster name share the table, as Redis clients do.
/// </summary>
public sealed class InMemoryMembershipStore(InMemoryMembershipServer server, string clusterName) : IMembershipStore
{
    private InMemoryMembershipServer.Cluster Table => server.Get(clusterName);

    public Task<IReadOnlyList<MemberRow>> ReadAllAsync(CancellationToken cancellationToken)
    {
        server.ThrowIfUnreachable();
        lock (Table)
            return Task.FromResult<IReadOnlyList<MemberRow>>(Table.Rows.Values.ToList());
    }

    public Task<MemberRow?> ReadAsync(string memberId, CancellationToken cancellationToken)
    {
        server.ThrowIfUnreachable();
        lock (Table)
            return Task.FromResult(Table.Rows.GetValueOrDefault(memberId));
    }

    public Task<bool> TryWriteAsync(MemberRow row, long expectedVersion, CancellationToken cancellationToken)
    {
        server.ThrowIfUnreachable();
        lock (Table)
        {
            var current = Table.Rows.GetValueOrDefault(row.Id)?.Version ?? 0;
            if (current != expectedVersion)
                return Task.FromResult(false);
            Table.Rows[row.Id] = row with { Version = expectedVersion + 1 };
            return Task.FromResult(true);
        }
    }

    public Task<bool> TryRemoveAsync(string memberId, long expectedVersion, CancellationToken cancellationToken)
    {
        server.ThrowIfUnreachable();
        lock (Table)
        {
            if (!Table.Rows.TryGetValue(memberId, out var row) || row.Version != expectedVersion)
                return Task.FromResult(false);
            Table.Rows.Remove(memberId);
            return Task.FromResult(true);
        }
    }

    public Task PublishAsync(MembershipEvent membershipEvent, CancellationToken cancellationToken)
    {
        server.ThrowIfUnreachable();
        foreach (var subscriber in Table.Subscribers.Values)
            subscriber(membershipEvent);
        return Task.CompletedTask;
    }

    public Task<IAsyncDisposable> SubscribeAsync(Action<MembershipEvent> onEvent, CancellationToken cancellationToken)
    {
        server.ThrowIfUnreachable();
        var key = Guid.NewGuid();
        Table.Subscribers[key] = onEvent;
        return Task.FromResult<IAsyncDisposable>(new Unsubscribe(() => Table.Subscribers.TryRemove(key, out _)));
    }

    private sealed class Unsubscribe(Action action) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            action();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>What a Redis server is to the Redis store: shared tables, and a switch to make it unreachable.</summary>
public sealed class InMemoryMembershipServer
{
    private readonly ConcurrentDictionary<string, Cluster> _clusters = new();

    public bool Unreachable { get; set; }

    public IMembershipStore Store(string clusterName) => new InMemoryMembershipStore(this, clusterName);

    /// <summary>Every row of every cluster is gone, as after FLUSHALL or a Redis that restarted without persistence.</summary>
    public void FlushAll()
    {
        foreach (var cluster in _clusters.Values)
        {
            lock (cluster)
                cluster.Rows.Clear();
        }
    }

    internal Cluster Get(string clusterName) => _clusters.GetOrAdd(clusterName, _ => new Cluster());

    internal void ThrowIfUnreachable()
    {
        if (Unreachable)
            throw new IOException("membership store unreachable (simulated)");
    }

    internal sealed class Cluster
    {
        public Dictionary<string, MemberRow> Rows { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<Guid, Action<MembershipEvent>> Subscribers { get; } = new();
    }
}

public sealed class InMemoryMembershipStoreContract : LogStream.Testing.MembershipStoreContract
{
    private readonly InMemoryMembershipServer _server = new();

    protected override Task<IMembershipStore> CreateStoreAsync(string clusterName) => Task.FromResult(_server.Store(clusterName));
}
