using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using LogStream.Node.Membership;
using LogStream.Node.Replication.Grpc;
using LogStream.Node.Replication.Hints;
using LogStream.Storage;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace LogStream.Node.Replication;

/// <summary>
/// Calls to peer replicas over gRPC, each peer behind its own Polly pipelines. Writes: bounded jittered retry of
/// transient faults (writes are idempotent by id), a circuit breaker per peer (an open breaker fails at once, so the
/// coordinator hints instead of waiting), and a per-attempt timeout. Reads: breaker and timeout only; slowness is
/// handled by the read coordinator's hedging (it asks another replica).
/// </summary>
public sealed partial class ReplicaClient : IPeerClient, IHintDelivery, IAsyncDisposable
{
    private static readonly int MaxMessageBytes = 64 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Peer> _peers = new(StringComparer.Ordinal);
    private readonly MembershipView _membership;
    private readonly ClusterSecret _secret;
    private readonly ReplicationOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ReplicationMetrics _metrics;
    private readonly ILogger<ReplicaClient> _logger;
    private readonly string _selfId;

    public ReplicaClient(
        MembershipView membership,
        ClusterSecret secret,
        IOptions<ReplicationOptions> options,
        IOptions<NodeOptions> nodeOptions,
        TimeProvider timeProvider,
        ReplicationMetrics metrics,
        ILogger<ReplicaClient> logger)
    {
        _membership = membership;
        _secret = secret;
        _options = options.Value;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
        _selfId = nodeOptions.Value.NodeId;
    }

    /// <summary>True while the write breaker of <paramref name="memberId"/> is open: writes to it become hints at once.</summary>
    public bool IsCircuitOpen(string memberId) =>
        _peers.TryGetValue(memberId, out var peer) && peer.WriteBreaker.CircuitState is CircuitState.Open or CircuitState.Isolated;

    public async Task<ReplicateReply> ReplicateAsync(Member target, IReadOnlyList<ByteString> records, bool handoff, CancellationToken cancellationToken)
    {
        var peer = PeerFor(target);
        var request = new ReplicateRequest { Sender = _selfId, Handoff = handoff };
        request.Records.AddRange(records);
        var started = _timeProvider.GetTimestamp();
        try
        {
            var reply = await peer.Write.ExecuteAsync(
                async (state, token) => await state.Client.ReplicateAsync(state.Request, state.Headers.WithCancellationToken(token)),
                (peer.Client, Request: request, Headers: new CallOptions(_secret.Headers)),
                cancellationToken);
            _metrics.ReplicaCall("replicate", target.Id, "ok", _timeProvider.GetElapsedTime(started));
            return reply;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _metrics.ReplicaCall("replicate", target.Id, Outcome(ex), _timeProvider.GetElapsedTime(started));
            throw;
        }
    }

    /// <summary>
    /// A coordinator's write to a peer: records of an encoded batch, sent as one replicate call or, when calls to that
    /// peer are already running, together with other writes waiting for it (<see cref="ReplicaWriteQueue"/>).
    /// </summary>
    public Task WriteAsync(Member target, EncodedBatch batch, IReadOnlyList<int> indexes) =>
        PeerFor(target).Writes.SendAsync(batch, indexes);

    /// <summary>Replicates records of an encoded batch: the same call as above, without a <c>ByteString</c> per record.</summary>
    public Task<ReplicateReply> ReplicateAsync(Member target, EncodedReplicateRequest request, CancellationToken cancellationToken) =>
        ReplicateAsync(PeerFor(target), target.Id, request, cancellationToken);

    private async Task<ReplicateReply> ReplicateAsync(Peer peer, string targetId, EncodedReplicateRequest request, CancellationToken cancellationToken)
    {
        var started = _timeProvider.GetTimestamp();
        try
        {
            var reply = await peer.Write.ExecuteAsync(
                async (state, token) => await state.Invoker.AsyncUnaryCall(Grpc.Replica.EncodedReplicateMethod, null, state.Headers.WithCancellationToken(token), state.Request),
                (peer.Invoker, Request: request, Headers: new CallOptions(_secret.Headers)),
                cancellationToken);
            _metrics.ReplicaCall("replicate", targetId, "ok", _timeProvider.GetElapsedTime(started));
            return reply;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _metrics.ReplicaCall("replicate", targetId, Outcome(ex), _timeProvider.GetElapsedTime(started));
            throw;
        }
    }

    public async Task<ReadReply> ReadAsync(Member target, ReadRequest request, CancellationToken cancellationToken)
    {
        var peer = PeerFor(target);
        var started = _timeProvider.GetTimestamp();
        try
        {
            var reply = await peer.Read.ExecuteAsync(
                async (state, token) => await state.Client.ReadAsync(state.Request, state.Headers.WithCancellationToken(token)),
                (peer.Client, Request: request, Headers: new CallOptions(_secret.Headers)),
                cancellationToken);
            _metrics.ReplicaCall("read", target.Id, "ok", _timeProvider.GetElapsedTime(started));
            return reply;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _metrics.ReplicaCall("read", target.Id, Outcome(ex), _timeProvider.GetElapsedTime(started));
            throw;
        }
    }

    /// <summary>
    /// Any other internal call to a peer (anti-entropy), on the peer's channel, behind its repair breaker and
    /// <see cref="ReplicationOptions.RepairAttemptTimeout"/>, with the cluster secret.
    /// </summary>
    public async Task<TReply> CallAsync<TReply>(
        Member target, string operation, Func<CallInvoker, CallOptions, Task<TReply>> call, CancellationToken cancellationToken)
    {
        var peer = PeerFor(target);
        var started = _timeProvider.GetTimestamp();
        try
        {
            var reply = await peer.Repair.ExecuteAsync(
                async (state, token) => await state.Call(state.Invoker, state.Headers.WithCancellationToken(token)),
                (Call: call, peer.Invoker, Headers: new CallOptions(_secret.Headers)),
                cancellationToken);
            _metrics.ReplicaCall(operation, target.Id, "ok", _timeProvider.GetElapsedTime(started));
            return reply;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _metrics.ReplicaCall(operation, target.Id, Outcome(ex), _timeProvider.GetElapsedTime(started));
            throw;
        }
    }

    /// <summary>Hinted handoff: delivers records to their target once it is up again.</summary>
    public async Task<bool> DeliverAsync(string targetNodeId, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken)
    {
        var target = _membership.Snapshot.Find(targetNodeId);
        if (target is null || target.InternalAddress is null || target.State != MemberState.Up)
            return false;
        await ReplicateAsync(target, records.Select(LocalReplica.Encode).ToList(), handoff: true, cancellationToken);
        return true;
    }

    private static string Outcome(Exception ex) => ex switch
    {
        BrokenCircuitException or IsolatedCircuitException => "circuit_open",
        TimeoutRejectedException => "timeout",
        _ => "failed",
    };

    private Peer PeerFor(Member target)
    {
        var address = target.InternalAddress
            ?? throw new RpcException(new Status(StatusCode.Unavailable, $"{target.Id} advertises no internal address"));
        while (true)
        {
            if (_peers.TryGetValue(target.Id, out var existing))
            {
                if (existing.Address == address)
                    return existing;
                // The peer restarted on another address: replace its channel (and its breakers with it).
                if (_peers.TryUpdate(target.Id, CreatePeer(target.Id, address), existing))
                {
                    existing.Channel.Dispose();
                    continue;
                }
                continue;
            }
            var created = CreatePeer(target.Id, address);
            if (_peers.TryAdd(target.Id, created))
                return created;
            created.Channel.Dispose();
        }
    }

    private Peer CreatePeer(string id, string address)
    {
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                // A stopped peer refuses connections at once; a vanished host must not hold a write for long.
                ConnectTimeout = TimeSpan.FromSeconds(1),
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            },
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
        });
        var writeBreaker = new CircuitBreakerStateProvider();
        var writeBuilder = new ResiliencePipelineBuilder { TimeProvider = _timeProvider };
        if (_options.MaxRetries > 0)
        {
            writeBuilder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _options.MaxRetries,
                Delay = _options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(IsTransient),
                OnRetry = args =>
                {
                    LogRetry(id, args.AttemptNumber + 1, args.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            });
        }
        var write = writeBuilder
            .AddCircuitBreaker(BreakerOptions(id, "write", writeBreaker))
            .AddTimeout(_options.WriteAttemptTimeout)
            .Build();
        var read = new ResiliencePipelineBuilder { TimeProvider = _timeProvider }
            .AddCircuitBreaker(BreakerOptions(id, "read", new CircuitBreakerStateProvider()))
            .AddTimeout(_options.ReadAttemptTimeout)
            .Build();
        // Anti-entropy calls (tree nodes, digests, fetches of many records) are heavier than reads: their own bound and
        // breaker, so a slow repair never opens the circuit that client reads depend on.
        var repair = new ResiliencePipelineBuilder { TimeProvider = _timeProvider }
            .AddCircuitBreaker(BreakerOptions(id, "repair", new CircuitBreakerStateProvider()))
            .AddTimeout(_options.RepairAttemptTimeout)
            .Build();
        Peer? peer = null;
        var writes = new ReplicaWriteQueue(request => ReplicateAsync(peer!, id, request, CancellationToken.None), _selfId,
            _options.MaxWriteCallsPerPeer, _options.MaxRecordsPerWriteCall);
        peer = new Peer(address, channel, channel.CreateCallInvoker(), new Grpc.Replica.ReplicaClient(channel), write, read, repair, writeBreaker,
            writes);
        return peer;
    }

    private CircuitBreakerStrategyOptions BreakerOptions(string peer, string operation, CircuitBreakerStateProvider state) => new()
    {
        FailureRatio = _options.BreakerFailureRatio,
        SamplingDuration = _options.BreakerSamplingDuration,
        MinimumThroughput = _options.BreakerMinimumThroughput,
        BreakDuration = _options.BreakerBreakDuration,
        StateProvider = state,
        ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => e.StatusCode != StatusCode.InvalidArgument && e.StatusCode != StatusCode.Unauthenticated)
            .Handle<TimeoutRejectedException>(),
        OnOpened = args =>
        {
            LogBreakerOpened(peer, operation, args.BreakDuration);
            return ValueTask.CompletedTask;
        },
        OnClosed = _ =>
        {
            LogBreakerClosed(peer, operation);
            return ValueTask.CompletedTask;
        },
    };

    /// <summary>Faults worth another attempt: the peer was unreachable or the connection broke.</summary>
    private static bool IsTransient(RpcException exception) =>
        exception.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.ResourceExhausted or StatusCode.Aborted;

    public ValueTask DisposeAsync()
    {
        foreach (var peer in _peers.Values)
            peer.Channel.Dispose();
        _peers.Clear();
        return ValueTask.CompletedTask;
    }

    private sealed record Peer(
        string Address,
        GrpcChannel Channel,
        CallInvoker Invoker,
        Grpc.Replica.ReplicaClient Client,
        ResiliencePipeline Write,
        ResiliencePipeline Read,
        ResiliencePipeline Repair,
        CircuitBreakerStateProvider WriteBreaker,
        ReplicaWriteQueue Writes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Retrying call to {Peer} (attempt {Attempt}): {Reason}")]
    private partial void LogRetry(string peer, int attempt, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit to {Peer} ({Operation}) opened for {BreakDuration}: calls fail at once (writes become hints)")]
    private partial void LogBreakerOpened(string peer, string operation, TimeSpan breakDuration);

    [LoggerMessage(Level = LogLevel.Information, Message = "Circuit to {Peer} ({Operation}) closed again")]
    private partial void LogBreakerClosed(string peer, string operation);
}
