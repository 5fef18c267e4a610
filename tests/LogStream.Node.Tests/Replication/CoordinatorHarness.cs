using Google.Protobuf;
using Grpc.Core;
using LogStream.Node.Membership;
using LogStream.Node.Query;
using LogStream.Node.Replication;
using LogStream.Node.Replication.Grpc;
using LogStream.Node.Replication.Hints;
using LogStream.Node.Ring;
using LogStream.Storage;
using LogStream.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Node.Tests.Replication;

/// <summary>
/// The write and read coordinators of <c>node-0</c> over a membership view the test sets, each member a real store in a
/// temp directory; peers are reached through a fake transport (<see cref="FakePeers"/>) instead of gRPC.
/// </summary>
public sealed class CoordinatorHarness : IAsyncDisposable
{
    public const string Self = "node-0";

    private readonly TempDirectory _data = new("logstream-coordinator");
    private readonly TestMeterFactory _meters = new();
    private readonly List<SegmentLogStore> _stores = [];
    private readonly MembershipView _view = new();

    private CoordinatorHarness(int replicationFactor)
    {
        Ring = new RingView(_view, Options.Create(new RingOptions { ReplicationFactor = replicationFactor, VirtualNodes = 64 }));
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    public RingView Ring { get; }

    public FakePeers Peers { get; } = new();

    public RecordingHints Hints { get; } = new();

    public LocalReplica Local { get; private set; } = null!;

    public WriteCoordinator Writer { get; private set; } = null!;

    public ReadCoordinator Reader { get; private set; } = null!;

    /// <summary>node-0 and the given peers, all registered and up (at RF <paramref name="replicationFactor"/>).</summary>
    public static async Task<CoordinatorHarness> StartAsync(int replicationFactor, params string[] peers)
    {
        var harness = new CoordinatorHarness(replicationFactor);
        harness.Local = await harness.ReplicaAsync(Self);
        foreach (var peer in peers)
            harness.Peers.Add(peer, await harness.ReplicaAsync(peer));
        harness.Publish([Self, .. peers], down: []);
        var replication = new ReplicationMetrics(harness._meters);
        harness.Writer = new WriteCoordinator(harness.Local, harness.Peers, harness.Hints, harness.Ring, harness._view, harness.Time, replication,
            NullLogger<WriteCoordinator>.Instance);
        harness.Reader = new ReadCoordinator(harness.Local, harness.Peers, harness.Ring, harness._view, Options.Create(new ReplicationOptions()),
            harness.Time, new QueryMetrics(harness._meters), replication, NullLogger<ReadCoordinator>.Instance);
        return harness;
    }

    /// <summary>Sets the member table as node-0 sees it: every id listed, those in <paramref name="down"/> stopped.</summary>
    public void Publish(IReadOnlyList<string> members, IReadOnlyList<string> down)
    {
        var now = Time.GetUtcNow();
        var rows = members.Select(id => new MemberRow
        {
            Id = id,
            Address = $"http://{id}:5100",
            InternalAddress = $"http://{id}:5300",
            Status = down.Contains(id) ? MemberStatus.Stopped : MemberStatus.Alive,
            HeartbeatAt = now,
            Incarnation = 1,
        });
        _view.Publish(new MembershipState(MembershipSnapshot.Create(rows, now, new MembershipOptions()), true, now, null));
    }

    /// <summary>Waits (bounded) for replica sends still running after a write was answered, and their hints.</summary>
    public ValueTask SettleAsync() => Writer.DisposeAsync();

    /// <summary>Records of one source (one partition under source partitioning), stamped at the fake clock's now.</summary>
    public IReadOnlyList<LogRecord> Records(int count, string source = "checkout") =>
        Enumerable.Range(0, count)
            .Select(i => new LogRecord($"{source}-{i:D4}", Time.GetUtcNow().AddSeconds(-i), LogSeverity.Info, source, $"message {i}"))
            .ToList();

    private async Task<LocalReplica> ReplicaAsync(string nodeId)
    {
        var store = new SegmentLogStore(_data.Sub(nodeId), new StorageOptions(), Time, new StorageMetrics(_meters));
        _stores.Add(store);
        await store.OpenAsync();
        return new LocalReplica(store, Options.Create(new NodeOptions { NodeId = nodeId, DataDirectory = _data.Sub(nodeId) }));
    }

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync();
        foreach (var store in _stores)
            await store.DisposeAsync();
        _meters.Dispose();
        _data.Dispose();
    }
}

/// <summary>Peers reached without a network: each is a real store; one that is not reachable fails as gRPC would.</summary>
public sealed class FakePeers : IPeerClient
{
    private readonly Dictionary<string, LocalReplica> _replicas = new(StringComparer.Ordinal);

    /// <summary>Peers whose calls fail with Unavailable (the process is gone but membership has not noticed yet).</summary>
    public HashSet<string> Unreachable { get; } = new(StringComparer.Ordinal);

    public void Add(string nodeId, LocalReplica replica) => _replicas[nodeId] = replica;

    public LocalReplica this[string nodeId] => _replicas[nodeId];

    public bool IsCircuitOpen(string memberId) => false;

    public async Task WriteAsync(Member target, EncodedBatch batch, IReadOnlyList<int> indexes) =>
        await Reach(target).AppendAsync(batch, CancellationToken.None, indexes);

    public Task<ReadReply> ReadAsync(Member target, ReadRequest request, CancellationToken cancellationToken) =>
        Reach(target).ReadAsync(request, cancellationToken);

    public async Task<ReplicateReply> ReplicateAsync(Member target, IReadOnlyList<ByteString> records, bool handoff, CancellationToken cancellationToken)
    {
        var result = await Reach(target).AppendAsync(LocalReplica.Decode(records), cancellationToken);
        return new ReplicateReply { Added = (uint)result.Added, AlreadyPresent = (uint)result.AlreadyPresent };
    }

    private LocalReplica Reach(Member target) =>
        !Unreachable.Contains(target.Id) && _replicas.TryGetValue(target.Id, out var replica)
            ? replica
            : throw new RpcException(new Status(StatusCode.Unavailable, $"{target.Id} is unreachable (fake transport)"));
}

/// <summary>Hints kept in memory: how many records were hinted for each target.</summary>
public sealed class RecordingHints : IHintStore
{
    private readonly Dictionary<string, long> _pending = new(StringComparer.Ordinal);

    public bool Enabled => true;

    public IReadOnlyDictionary<string, long> Pending
    {
        get
        {
            lock (_pending)
                return new Dictionary<string, long>(_pending);
        }
    }

    public ValueTask StoreAsync(string targetNodeId, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken)
    {
        lock (_pending)
            _pending[targetNodeId] = _pending.GetValueOrDefault(targetNodeId) + records.Count;
        return ValueTask.CompletedTask;
    }

    public long PendingFor(string targetNodeId)
    {
        lock (_pending)
            return _pending.GetValueOrDefault(targetNodeId);
    }
}
