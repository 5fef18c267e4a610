using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using LogStream.Node.Membership;
using LogStream.Node.Replication.Hints;
using LogStream.Node.Ring;
using LogStream.Storage;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace LogStream.Node.Replication;

/// <summary>What became of a write batch, partition by partition.</summary>
public sealed record WriteResult(Consistency Consistency, IReadOnlyList<PartitionOutcome> Partitions)
{
    public bool Succeeded => Partitions.All(p => p.Succeeded);

    public int Records => Partitions.Sum(p => p.Records);
}

/// <param name="Acked">Replicas that stored the partition's records durably before the answer was given.</param>
/// <param name="Failed">Replicas that did not, and why; their records were hinted when <see cref="ReplicaFailure.Hinted"/>.</param>
/// <param name="Pending">Replicas still being written to (or hinted for) when the answer was given.</param>
public sealed record PartitionOutcome(
    string Partition,
    int Records,
    int Required,
    IReadOnlyList<string> Replicas,
    IReadOnlyList<string> Acked,
    IReadOnlyList<ReplicaFailure> Failed,
    IReadOnlyList<string> Pending)
{
    public bool Succeeded => Acked.Count >= Required;
}

public sealed record ReplicaFailure(string Replica, string Reason, bool Hinted);

/// <summary>The cluster has no ring yet (this node never reached the membership store): nothing can be placed.</summary>
public sealed class NoRingException(string message) : Exception(message);

/// <summary>
/// The write path (DESIGN §5). Groups a batch by partition, sends each replica node the records of every partition
/// it holds — in parallel, the local copy straight to the store — and answers once every partition has W durable
/// acknowledgements, or cannot get them. A replica that is down, behind an open circuit, or fails gets a durable
/// hint instead. Sends still running when the answer is given go on in the background (and hint on failure).
/// </summary>
public sealed partial class WriteCoordinator(
    LocalReplica local,
    IPeerClient client,
    IHintStore hints,
    RingView ringView,
    MembershipView membership,
    TimeProvider timeProvider,
    ReplicationMetrics metrics,
    ILogger<WriteCoordinator> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Task, byte> _background = new();

    public async Task<WriteResult> WriteAsync(IReadOnlyList<LogRecord> records, Consistency consistency, CancellationToken cancellationToken)
    {
        using var batch = EncodedBatch.FromRecords(records);
        return await WriteAsync(batch, consistency, cancellationToken);
    }

    /// <summary>
    /// Writes an encoded batch: every copy (local append, peer requests) is made from its frames, nothing is encoded
    /// again. The batch stays the caller's; sends still running after the answer hold their own reference to it.
    /// </summary>
    public async Task<WriteResult> WriteAsync(EncodedBatch batch, Consistency consistency, CancellationToken cancellationToken)
    {
        using var activity = ReplicationMetrics.ActivitySource.StartActivity("logstream.write");
        activity?.SetTag("logstream.records", batch.Count);
        activity?.SetTag("logstream.consistency", consistency.ToName());
        var started = timeProvider.GetTimestamp();

        var ring = ringView.Current;
        if (ring.Members.IsEmpty)
            throw new NoRingException("this node has not reached the membership store yet, so it knows no replicas");
        var snapshot = membership.Snapshot;

        var partitions = GroupByPartition(batch, ring, consistency);
        var perNode = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var partition in partitions)
        {
            foreach (var replica in partition.Replicas)
            {
                if (!perNode.TryGetValue(replica.Id, out var indexes))
                    perNode[replica.Id] = indexes = new List<int>(batch.Count);
                indexes.AddRange(partition.Indexes);
            }
        }

        var pending = new List<Task<NodeOutcome>>(perNode.Count);
        foreach (var (nodeId, indexes) in perNode)
            pending.Add(SendAsync(nodeId, batch.Retain(), indexes, snapshot));
        while (pending.Count > 0 && !Decided(partitions))
        {
            var done = await Task.WhenAny(pending).WaitAsync(cancellationToken);
            pending.Remove(done);
            var outcome = await done;
            foreach (var partition in partitions)
                partition.Record(outcome);
        }
        foreach (var straggler in pending)
            TrackInBackground(straggler);

        var result = new WriteResult(consistency, partitions.Select(p => p.ToOutcome()).ToList());
        var committed = result.Partitions.Where(p => p.Succeeded).Sum(p => p.Records);
        metrics.Ingested(committed, consistency, timeProvider.GetElapsedTime(started));
        if (!result.Succeeded)
        {
            metrics.QuorumFailed("write", consistency);
            activity?.SetStatus(ActivityStatusCode.Error, "write quorum not reached");
        }
        return result;
    }

    private List<PartitionWrite> GroupByPartition(EncodedBatch batch, TokenRing ring, Consistency consistency)
    {
        var byKey = new Dictionary<string, PartitionWrite>(StringComparer.Ordinal);
        var ordered = new List<PartitionWrite>();
        PartitionWrite? last = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var key = local.Partitioner.Place(batch.SourceAt(i), batch.UnixTicksAt(i)).Partition;
            if ((last is null || last.Key != key) && !byKey.TryGetValue(key, out last))
            {
                // W counts from the replication factor: when the ring yields fewer replicas (members this node never
                // knew), the write cannot reach W and is refused rather than acknowledged with fewer copies.
                var replicas = ring.ReplicasFor(key, ringView.ReplicationFactor);
                byKey[key] = last = new PartitionWrite(key, replicas, consistency.Required(ringView.ReplicationFactor));
                ordered.Add(last);
            }
            last.Indexes.Add(i);
        }
        return ordered;
    }

    /// <summary>
    /// Every partition has its W acks, or can no longer get them from the replicas still answering (at once when the
    /// ring places fewer than W replicas: the sends then all finish in the background).
    /// </summary>
    private static bool Decided(List<PartitionWrite> partitions) =>
        partitions.All(p => p.Acked.Count >= p.Required || p.Acked.Count + p.Unanswered < p.Required);

    /// <summary>
    /// Stores on one replica node, or hints for it. Never throws: the outcome says what happened. Owns (and lets go
    /// of) one reference to the batch.
    /// </summary>
    private async Task<NodeOutcome> SendAsync(string nodeId, EncodedBatch batch, List<int> indexes, MembershipSnapshot snapshot)
    {
        using var _ = batch;
        if (nodeId == local.NodeId)
        {
            try
            {
                await local.AppendAsync(batch, CancellationToken.None, indexes);
                return new NodeOutcome(nodeId, true, null, false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogLocalAppendFailed(ex, indexes.Count);
                return new NodeOutcome(nodeId, false, $"local store failed: {ex.Message}", false);
            }
        }

        var member = snapshot.Find(nodeId);
        var skip = member switch
        {
            null => "not a member",
            { State: MemberState.Down } => "down",
            { InternalAddress: null } => "no internal address",
            _ when client.IsCircuitOpen(nodeId) => "circuit open",
            _ => null,
        };
        if (skip is not null)
        {
            metrics.ReplicaCall("replicate", nodeId, skip == "circuit open" ? "circuit_open" : "down", TimeSpan.Zero);
            return new NodeOutcome(nodeId, false, skip, await HintAsync(nodeId, batch, indexes, skip));
        }

        try
        {
            await client.WriteAsync(member!, batch, indexes);
            return new NodeOutcome(nodeId, true, null, false);
        }
        catch (Exception ex) when (ex is RpcException or TimeoutRejectedException or BrokenCircuitException or IsolatedCircuitException or HttpRequestException)
        {
            var reason = Describe(ex);
            return new NodeOutcome(nodeId, false, reason, await HintAsync(nodeId, batch, indexes, reason));
        }
    }

    private async Task<bool> HintAsync(string nodeId, EncodedBatch batch, List<int> indexes, string reason)
    {
        if (!hints.Enabled)
            return false;
        try
        {
            var records = indexes.Select(batch.Decode).ToList();
            await hints.StoreAsync(nodeId, records, CancellationToken.None);
            LogHinted(records.Count, nodeId, reason);
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Anti-entropy still finds the difference later; the write itself is decided by the acks.
            LogHintFailed(ex, indexes.Count, nodeId);
            return false;
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        TimeoutRejectedException => "timed out",
        BrokenCircuitException or IsolatedCircuitException => "circuit open",
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        _ => ex.Message,
    };

    private void TrackInBackground(Task<NodeOutcome> task)
    {
        _background.TryAdd(task, 0);
        _ = task.ContinueWith(t => _background.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>Waits (bounded) for sends still running, so their hints are written before the process exits.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Task.WhenAll(_background.Keys).WaitAsync(TimeSpan.FromSeconds(10), timeProvider);
        }
        catch (TimeoutException)
        {
            LogBackgroundSendsAbandoned(_background.Count);
        }
    }

    private sealed record NodeOutcome(string NodeId, bool Ok, string? Reason, bool Hinted);

    private sealed class PartitionWrite(string key, System.Collections.Immutable.ImmutableArray<RingMember> replicas, int required)
    {
        public string Key { get; } = key;

        public System.Collections.Immutable.ImmutableArray<RingMember> Replicas { get; } = replicas;

        public int Required { get; } = required;

        /// <summary>The batch positions of the partition's records.</summary>
        public List<int> Indexes { get; } = [];

        public List<string> Acked { get; } = [];

        public List<ReplicaFailure> Failed { get; } = [];

        public int Unanswered => Replicas.Length - Acked.Count - Failed.Count;

        public void Record(NodeOutcome outcome)
        {
            if (!Replicas.Any(r => r.Id == outcome.NodeId))
                return;
            if (outcome.Ok)
                Acked.Add(outcome.NodeId);
            else
                Failed.Add(new ReplicaFailure(outcome.NodeId, outcome.Reason ?? "failed", outcome.Hinted));
        }

        public PartitionOutcome ToOutcome() => new(
            Key,
            Indexes.Count,
            Required,
            Replicas.Select(r => r.Id).ToList(),
            Acked.ToList(),
            Failed.ToList(),
            Replicas.Select(r => r.Id).Where(id => !Acked.Contains(id) && Failed.All(f => f.Replica != id)).ToList());
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Local append of {Count} records failed")]
    private partial void LogLocalAppendFailed(Exception ex, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Hinted {Count} records for {NodeId} ({Reason})")]
    private partial void LogHinted(int count, string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not store a hint of {Count} records for {NodeId}; anti-entropy will repair them")]
    private partial void LogHintFailed(Exception ex, int count, string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutting down with {Count} replica sends still running")]
    private partial void LogBackgroundSendsAbandoned(int count);
}
