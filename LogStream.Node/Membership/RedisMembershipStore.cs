using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace LogStream.Node.Membership;

/// <summary>
/// The member table in Redis (or any RESP server with strings, sets, WATCH/MULTI and pub/sub, e.g. Garnet): one key
/// per member (<c>logstream:{cluster}:member:{id}</c>) holding its row as JSON, a set of the member ids
/// (<c>logstream:{cluster}:members</c>), and a pub/sub channel (<c>logstream:{cluster}:membership</c>) for prompt
/// join/leave announcements. The braces are a hash tag: every key of a cluster lives in one Redis Cluster slot. No Lua:
/// versioned writes are WATCH-guarded transactions on the member's own key, so they conflict only with writes of the
/// same row (one hash for all members made every heartbeat abort the others' transactions).
/// </summary>
public sealed class RedisMembershipStore : IMembershipStore
{
    private readonly Func<IConnectionMultiplexer> _connect;
    private readonly string _prefix;
    private readonly RedisKey _idsKey;
    private readonly RedisChannel _channel;
    private IConnectionMultiplexer? _connection;

    /// <param name="connect">Resolves the shared connection on first use, so start-up never waits for Redis.</param>
    public RedisMembershipStore(Func<IConnectionMultiplexer> connect, string clusterName)
    {
        _connect = connect;
        _prefix = $"logstream:{{{clusterName}}}:member:";
        _idsKey = $"logstream:{{{clusterName}}}:members";
        _channel = RedisChannel.Literal($"logstream:{clusterName}:membership");
    }

    private IConnectionMultiplexer Connection => _connection ??= _connect();

    private IDatabase Db => Connection.GetDatabase();

    private RedisKey MemberKey(string memberId) => _prefix + memberId;

    public async Task<IReadOnlyList<MemberRow>> ReadAllAsync(CancellationToken cancellationToken)
    {
        var db = Db;
        var ids = await db.SetMembersAsync(_idsKey).WaitAsync(cancellationToken);
        if (ids.Length == 0)
            return [];
        var values = await db.StringGetAsync(ids.Select(id => MemberKey(id!)).ToArray()).WaitAsync(cancellationToken);
        var rows = new List<MemberRow>(values.Length);
        foreach (var value in values)
        {
            // A member removed between the two reads has no row any more: it is simply not listed.
            if (TryParse(value, out var row))
                rows.Add(row);
        }
        return rows;
    }

    public async Task<MemberRow?> ReadAsync(string memberId, CancellationToken cancellationToken)
    {
        var value = await Db.StringGetAsync(MemberKey(memberId)).WaitAsync(cancellationToken);
        return TryParse(value, out var row) ? row : null;
    }

    public Task<bool> TryWriteAsync(MemberRow row, long expectedVersion, CancellationToken cancellationToken) =>
        CompareAndSetAsync(row.Id, expectedVersion, mustExist: false, (transaction, key) =>
        {
            _ = transaction.StringSetAsync(key, Serialize(row with { Version = expectedVersion + 1 }));
            _ = transaction.SetAddAsync(_idsKey, row.Id);
        }, cancellationToken);

    public Task<bool> TryRemoveAsync(string memberId, long expectedVersion, CancellationToken cancellationToken) =>
        CompareAndSetAsync(memberId, expectedVersion, mustExist: true, (transaction, key) =>
        {
            _ = transaction.KeyDeleteAsync(key);
            _ = transaction.SetRemoveAsync(_idsKey, memberId);
        }, cancellationToken);

    /// <summary>
    /// Applies <paramref name="change"/> when the member's row holds <paramref name="expectedVersion"/> (0: no row).
    /// The condition re-checks the exact bytes compared, under WATCH of this member's key: a concurrent writer of the
    /// same row aborts us.
    /// </summary>
    private async Task<bool> CompareAndSetAsync(string memberId, long expectedVersion, bool mustExist, Action<ITransaction, RedisKey> change,
        CancellationToken cancellationToken)
    {
        var key = MemberKey(memberId);
        var db = Db;
        var current = await db.StringGetAsync(key).WaitAsync(cancellationToken);
        if ((mustExist && current.IsNull) || CurrentVersion(current) != expectedVersion)
            return false;

        var transaction = db.CreateTransaction();
        transaction.AddCondition(current.IsNull ? Condition.KeyNotExists(key) : Condition.StringEqual(key, current));
        change(transaction, key);
        return await transaction.ExecuteAsync().WaitAsync(cancellationToken);
    }

    /// <summary>The version of a stored row; 0 when there is none (or it cannot be read, and so cannot be ours).</summary>
    private static long CurrentVersion(RedisValue value) => TryParse(value, out var row) ? row.Version : 0;

    public Task PublishAsync(MembershipEvent membershipEvent, CancellationToken cancellationToken) =>
        Connection.GetSubscriber()
            .PublishAsync(_channel, JsonSerializer.Serialize(membershipEvent, MembershipJson.Default.MembershipEvent))
            .WaitAsync(cancellationToken);

    public async Task<IAsyncDisposable> SubscribeAsync(Action<MembershipEvent> onEvent, CancellationToken cancellationToken)
    {
        var subscriber = Connection.GetSubscriber();
        Action<RedisChannel, RedisValue> handler = (_, message) =>
        {
            if (TryParseEvent(message, out var membershipEvent))
                onEvent(membershipEvent);
        };
        await subscriber.SubscribeAsync(_channel, handler).WaitAsync(cancellationToken);
        return new Subscription(() => subscriber.UnsubscribeAsync(_channel, handler));
    }

    private static string Serialize(MemberRow row) => JsonSerializer.Serialize(row, MembershipJson.Default.MemberRow);

    private static bool TryParse(RedisValue value, out MemberRow row)
    {
        row = null!;
        if (value.IsNullOrEmpty)
            return false;
        try
        {
            row = JsonSerializer.Deserialize((string)value!, MembershipJson.Default.MemberRow)!;
            return row is not null;
        }
        catch (JsonException)
        {
            return false; // a foreign or corrupt field is ignored rather than crashing the heartbeat loop
        }
    }

    private static bool TryParseEvent(RedisValue value, out MembershipEvent membershipEvent)
    {
        membershipEvent = null!;
        if (value.IsNullOrEmpty)
            return false;
        try
        {
            membershipEvent = JsonSerializer.Deserialize((string)value!, MembershipJson.Default.MembershipEvent)!;
            return membershipEvent is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private sealed class Subscription(Func<Task> unsubscribe) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await unsubscribe();
            }
            catch (RedisException)
            {
                // Redis is gone: the subscription died with the connection.
            }
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(MemberRow))]
[JsonSerializable(typeof(MembershipEvent))]
internal sealed partial class MembershipJson : JsonSerializerContext;
