using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace LogStream.Node.Membership;

/// <summary>
/// The member table in Redis (or any RESP server with hashes, WATCH/MULTI and pub/sub, e.g. Garnet):
/// one hash per cluster (<c>logstream:{cluster}:members</c>), one field per member holding its row as JSON,
/// and a pub/sub channel (<c>logstream:{cluster}:membership</c>) for prompt join/leave announcements.
/// No Lua: versioned writes are WATCH-guarded transactions.
/// </summary>
public sealed class RedisMembershipStore : IMembershipStore
{
    private readonly Func<IConnectionMultiplexer> _connect;
    private readonly RedisKey _membersKey;
    private readonly RedisChannel _channel;
    private IConnectionMultiplexer? _connection;

    /// <param name="connect">Resolves the shared connection on first use, so start-up never waits for Redis.</param>
    public RedisMembershipStore(Func<IConnectionMultiplexer> connect, string clusterName)
    {
        _connect = connect;
        _membersKey = $"logstream:{clusterName}:members";
        _channel = RedisChannel.Literal($"logstream:{clusterName}:membership");
    }

    private IConnectionMultiplexer Connection => _connection ??= _connect();

    private IDatabase Db => Connection.GetDatabase();

    public async Task<IReadOnlyList<MemberRow>> ReadAllAsync(CancellationToken cancellationToken)
    {
        var entries = await Db.HashGetAllAsync(_membersKey).WaitAsync(cancellationToken);
        var rows = new List<MemberRow>(entries.Length);
        foreach (var entry in entries)
        {
            if (TryParse(entry.Value, out var row))
                rows.Add(row);
        }
        return rows;
    }

    public async Task<MemberRow?> ReadAsync(string memberId, CancellationToken cancellationToken)
    {
        var value = await Db.HashGetAsync(_membersKey, memberId).WaitAsync(cancellationToken);
        return TryParse(value, out var row) ? row : null;
    }

    public Task<bool> TryWriteAsync(MemberRow row, long expectedVersion, CancellationToken cancellationToken) =>
        CompareAndSetAsync(row.Id, expectedVersion, transaction =>
            _ = transaction.HashSetAsync(_membersKey, row.Id, Serialize(row with { Version = expectedVersion + 1 })), cancellationToken);

    public Task<bool> TryRemoveAsync(string memberId, long expectedVersion, CancellationToken cancellationToken) =>
        CompareAndSetAsync(memberId, expectedVersion, transaction => _ = transaction.HashDeleteAsync(_membersKey, memberId),
            cancellationToken, mustExist: true);

    /// <summary>
    /// Applies <paramref name="change"/> to the member's field if it holds <paramref name="expectedVersion"/> (0: absent).
    /// The transaction re-checks the exact bytes compared, under WATCH. WATCH guards the whole hash, so another member's
    /// heartbeat landing between our check and EXEC aborts it although our row did not change: then look again, after a
    /// short jittered pause once it happened twice, until the row itself holds another version (refused) or the caller's
    /// token ends. Every abort means another writer's EXEC succeeded, so the members as a whole always make progress.
    /// </summary>
    private async Task<bool> CompareAndSetAsync(string memberId, long expectedVersion, Action<ITransaction> change,
        CancellationToken cancellationToken, bool mustExist = false)
    {
        var db = Db;
        for (var attempt = 0; ; attempt++)
        {
            if (attempt >= 2)
                await Task.Delay(Random.Shared.Next(1, Math.Min(attempt, 20) + 1), cancellationToken);
            var current = await db.HashGetAsync(_membersKey, memberId).WaitAsync(cancellationToken);
            var exists = TryParse(current, out var stored);
            if ((exists ? stored.Version : 0) != expectedVersion || (mustExist && !exists))
                return false;

            var transaction = db.CreateTransaction();
            transaction.AddCondition(current.IsNull
                ? Condition.HashNotExists(_membersKey, memberId)
                : Condition.HashEqual(_membersKey, memberId, current));
            change(transaction);
            if (await transaction.ExecuteAsync().WaitAsync(cancellationToken))
                return true;
        }
    }

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
