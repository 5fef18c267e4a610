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

    public async Task<bool> TryWriteAsync(MemberRow row, long expectedVersion, CancellationToken cancellationToken)
    {
        var db = Db;
        var current = await db.HashGetAsync(_membersKey, row.Id).WaitAsync(cancellationToken);
        var currentVersion = TryParse(current, out var stored) ? stored.Version : 0;
        if (currentVersion != expectedVersion)
            return false;

        // The condition re-checks the exact bytes we compared, under WATCH: a concurrent writer aborts us.
        var transaction = db.CreateTransaction();
        transaction.AddCondition(current.IsNull
            ? Condition.HashNotExists(_membersKey, row.Id)
            : Condition.HashEqual(_membersKey, row.Id, current));
        _ = transaction.HashSetAsync(_membersKey, row.Id, Serialize(row with { Version = expectedVersion + 1 }));
        return await transaction.ExecuteAsync().WaitAsync(cancellationToken);
    }

    public async Task<bool> TryRemoveAsync(string memberId, long expectedVersion, CancellationToken cancellationToken)
    {
        var db = Db;
        var current = await db.HashGetAsync(_membersKey, memberId).WaitAsync(cancellationToken);
        if (!TryParse(current, out var stored) || stored.Version != expectedVersion)
            return false;

        var transaction = db.CreateTransaction();
        transaction.AddCondition(Condition.HashEqual(_membersKey, memberId, current));
        _ = transaction.HashDeleteAsync(_membersKey, memberId);
        return await transaction.ExecuteAsync().WaitAsync(cancellationToken);
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
