using System.Collections.Immutable;
using System.Diagnostics;
using LogStream.Node.Membership;
using LogStream.Node.Replication;
using LogStream.Node.Replication.Grpc;
using LogStream.Node.Ring;
using LogStream.Storage;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Query;

/// <summary>
/// The read path (DESIGN §6). Works out which partitions can hold matches — exact partition keys when the filters
/// pin them (a source, a bounded time range), else every token range of the ring, grouped by replica set — and asks
/// R replicas of each group, this node first. An asked replica that is slow (no answer within the hedge delay) or
/// fails makes the coordinator ask the next one. Answers are merged newest first, deduplicated and cut to the limit;
/// a replica that lacks records another one returned is sent them (read repair) before the answer goes out.
/// </summary>
public sealed partial class ReadCoordinator(
    LocalReplica local,
    IPeerClient client,
    RingView ringView,
    MembershipView membership,
    IOptions<ReplicationOptions> options,
    TimeProvider timeProvider,
    QueryMetrics metrics,
    ReplicationMetrics replicationMetrics,
    ILogger<ReadCoordinator> logger)
{
    /// <summary>Above this many exact partitions a query scans token ranges instead.</summary>
    private const int MaxExactPartitions = 256;

    private readonly ReplicationOptions _options = options.Value;

    public async Task<ReadResult> ReadAsync(ReadQuery query, CancellationToken cancellationToken)
    {
        using var activity = QueryMetrics.ActivitySource.StartActivity("logstream.read");
        activity?.SetTag("logstream.consistency", query.Consistency.ToName());
        var started = timeProvider.GetTimestamp();

        var ring = ringView.Current;
        if (ring.Members.IsEmpty)
            throw new NoRingException("this node has not reached the membership store yet, so it knows no replicas");
        var snapshot = membership.Snapshot;
        var groups = Plan(query, ring, snapshot);

        var replies = await GatherAsync(query, groups, snapshot, cancellationToken);
        var merged = Merge(replies, query.Limit);
        var repaired = await ReadRepairAsync(groups, replies, snapshot);

        var incomplete = groups.Where(g => g.Answers.Count < g.Required).ToList();
        var result = new ReadResult(
            merged,
            query.Consistency,
            incomplete.Count > 0,
            incomplete.SelectMany(g => g.KnownPartitions()).Distinct().Order(StringComparer.Ordinal).ToList(),
            incomplete.Select(g => new IncompleteReplicaSet(g.Replicas.Select(r => r.Id).ToList(), g.Required, g.Answers.Count, g.Failures)).ToList(),
            replies.Select(r => r.Node).Distinct().ToList(),
            repaired);

        var outcome = incomplete.Count == 0 ? "ok" : query.AllowPartial ? "partial" : "failed";
        metrics.Read(query.Consistency, outcome, timeProvider.GetElapsedTime(started));
        if (incomplete.Count > 0 && !query.AllowPartial)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "read quorum not reached");
            replicationMetrics.QuorumFailed("read", query.Consistency);
            throw new ReadQuorumException(result);
        }
        return result;
    }

    private List<ReadGroup> Plan(ReadQuery query, TokenRing ring, MembershipSnapshot snapshot)
    {
        var rf = ringView.ReplicationFactor;
        // R counts from the replication factor: a group the ring gives fewer replicas (members this node never knew)
        // cannot reach it, and the read is refused (or partial) rather than answered from fewer copies.
        var required = query.Consistency.Required(rf);
        var exact = ExactPartitions(query);
        if (exact is null)
        {
            return ring.ReplicaGroups(rf)
                .Select(g => new ReadGroup(g.Replicas, g.Ranges, null, required, Candidates(g.Replicas, snapshot)))
                .ToList();
        }
        return exact
            .GroupBy(p => ring.ReplicasFor(p, rf), ReplicaSetComparer.Instance)
            .Select(g => new ReadGroup(g.Key, [], g.ToList(), required, Candidates(g.Key, snapshot)))
            .ToList();
    }

    /// <summary>The partition keys that can hold matches, when the filters pin them down; null when any partition can.</summary>
    private List<string>? ExactPartitions(ReadQuery query)
    {
        var partitioner = local.Partitioner;
        switch (partitioner.Strategy)
        {
            case PartitioningStrategy.Source when query.Source is not null:
                return [partitioner.PartitionKeyOf(query.Source, DateTimeOffset.UnixEpoch)];
            case PartitioningStrategy.Time when query is { From: not null, To: not null }:
            case PartitioningStrategy.SourceAndTime when query is { Source: not null, From: not null, To: not null }:
                var keys = new List<string>();
                for (var bucket = partitioner.BucketOf(query.From!.Value); bucket < query.To!.Value; bucket += partitioner.BucketWidth)
                {
                    if (keys.Count == MaxExactPartitions)
                        return null;
                    keys.Add(partitioner.PartitionKeyOf(query.Source ?? "", bucket));
                }
                return keys;
            default:
                return null;
        }
    }

    /// <summary>Whom to ask, in order: this node, then members up, then suspects; down members never.</summary>
    private List<RingMember> Candidates(ImmutableArray<RingMember> replicas, MembershipSnapshot snapshot) =>
        replicas
            .Select(r => (Replica: r, State: r.Id == local.NodeId ? MemberState.Up : snapshot.Find(r.Id)?.State ?? MemberState.Down))
            .Where(c => c.State is MemberState.Up or MemberState.Suspect)
            .OrderBy(c => c.Replica.Id == local.NodeId ? 0 : c.State == MemberState.Up ? 1 : 2)
            .Select(c => c.Replica)
            .ToList();

    private async Task<List<NodeReply>> GatherAsync(ReadQuery query, List<ReadGroup> groups, MembershipSnapshot snapshot, CancellationToken cancellationToken)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var calls = new Dictionary<Task<ReadReply>, (string Node, List<ReadGroup> Groups)>();
        var replies = new List<NodeReply>();

        void Ask(string node, List<ReadGroup> forGroups)
        {
            foreach (var group in forGroups)
            {
                group.Asked.Add(node);
                group.InFlight++;
            }
            var request = BuildRequest(query, forGroups);
            var call = node == local.NodeId
                ? local.ReadAsync(request, abandon.Token)
                : client.ReadAsync(snapshot.Find(node)!, request, abandon.Token);
            calls[call] = (node, forGroups);
        }

        // Ask more replicas of each group that still needs answers; false when none is left to ask.
        bool AskMore(Func<ReadGroup, bool> needsMore)
        {
            var asked = false;
            foreach (var group in groups.Where(needsMore))
            {
                var next = group.NextCandidate();
                if (next is null)
                    continue;
                Ask(next.Id, [group]);
                asked = true;
            }
            return asked;
        }

        var initial = new Dictionary<string, List<ReadGroup>>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            for (var i = 0; i < group.Required; i++)
            {
                var candidate = group.NextCandidate();
                if (candidate is null)
                    break;
                (initial.TryGetValue(candidate.Id, out var list) ? list : initial[candidate.Id] = []).Add(group);
            }
        }
        foreach (var (node, forGroups) in initial)
            Ask(node, forGroups);

        try
        {
            while (!groups.All(g => g.Satisfied))
            {
                if (calls.Count == 0 && !AskMore(g => !g.Satisfied))
                    break;
                var hedge = timeProvider.WhenElapsed(_options.HedgeDelay, abandon.Token);
                var finished = await Task.WhenAny(calls.Keys.Append<Task>(hedge)).WaitAsync(cancellationToken);
                if (finished == hedge)
                {
                    // Slow replicas: ask one more for every group still short of answers.
                    if (AskMore(g => !g.Satisfied && g.Answers.Count + g.InFlight <= g.Required))
                        metrics.Hedged();
                    continue;
                }

                var call = (Task<ReadReply>)finished;
                var (node, forGroups) = calls[call];
                calls.Remove(call);
                foreach (var group in forGroups)
                    group.InFlight--;
                try
                {
                    var reply = await call;
                    var nodeReply = NodeReply.From(node, reply, local.Partitioner);
                    replies.Add(nodeReply);
                    foreach (var group in forGroups)
                        group.Answers.Add(nodeReply);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    LogReplicaReadFailed(node, ex.Message);
                    foreach (var group in forGroups)
                        group.Failures.Add($"{node}: {ex.Message}");
                    AskMore(g => forGroups.Contains(g) && !g.Satisfied && g.Answers.Count + g.InFlight < g.Required);
                }
            }
        }
        finally
        {
            // Answers still on their way are no longer needed.
            abandon.Cancel();
            foreach (var straggler in calls.Keys)
                _ = straggler.ContinueWith(static t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        }

        foreach (var group in groups.Where(g => g.Answers.Count < g.Required))
        {
            foreach (var missing in group.Replicas.Where(r => !group.Asked.Contains(r.Id)))
                group.Failures.Add($"{missing.Id}: {(snapshot.Find(missing.Id)?.State ?? MemberState.Down).ToString().ToLowerInvariant()}");
            if (group.Replicas.Length < ringView.ReplicationFactor)
                group.Failures.Add($"this node knows only {group.Replicas.Length} of the {ringView.ReplicationFactor} replicas");
        }
        return replies;
    }

    private static ReadRequest BuildRequest(ReadQuery query, List<ReadGroup> groups)
    {
        var request = new ReadRequest { Limit = (uint)query.Limit };
        foreach (var group in groups)
        {
            if (group.Partitions is not null)
                request.Partitions.AddRange(group.Partitions);
            else
                request.Ranges.AddRange(group.Ranges.Select(r => new Replication.Grpc.TokenRange { Start = r.Start, End = r.End }));
        }
        if (query.Level is { } level)
            request.Level = (uint)level;
        if (query.MinLevel is { } minLevel)
            request.MinLevel = (uint)minLevel;
        if (query.Source is not null)
            request.Source = query.Source;
        if (query.From is { } from)
            request.FromUnixTicks = UnixTicks.From(from);
        if (query.To is { } to)
            request.ToUnixTicks = UnixTicks.From(to);
        if (query.Contains is not null)
            request.Contains = query.Contains;
        return request;
    }

    private static List<LogRecord> Merge(List<NodeReply> replies, int limit)
    {
        var unique = new Dictionary<(string Partition, string Id), (LogRecord Record, string Partition)>();
        foreach (var reply in replies)
        {
            foreach (var (record, partition) in reply.Records)
                unique.TryAdd((partition, record.Id), (record, partition));
        }
        var ordered = unique.Values.ToList();
        ordered.Sort((a, b) => NewestFirst.Compare(a.Record, a.Partition, b.Record, b.Partition));
        return ordered.Take(limit).Select(x => x.Record).ToList();
    }

    /// <summary>
    /// For every group, a record one answering replica returned that another answering replica should have returned
    /// (it lies inside that replica's answer window) but did not, is sent to that replica. Bounded in time; a failure
    /// only means anti-entropy fixes it later.
    /// </summary>
    private async Task<int> ReadRepairAsync(List<ReadGroup> groups, List<NodeReply> replies, MembershipSnapshot snapshot)
    {
        var missing = new Dictionary<string, Dictionary<(string, string), LogRecord>>(StringComparer.Ordinal);
        foreach (var group in groups.Where(g => g.Answers.Count > 1))
        {
            foreach (var source in group.Answers)
            {
                foreach (var (record, partition) in source.Records)
                {
                    if (!group.InScope(partition))
                        continue;
                    foreach (var other in group.Answers)
                    {
                        if (other.Node == source.Node || other.Has(partition, record.Id) || !other.WouldHaveReturned(record, partition))
                            continue;
                        if (!missing.TryGetValue(other.Node, out var forNode))
                            missing[other.Node] = forNode = [];
                        forNode.TryAdd((partition, record.Id), record);
                    }
                }
            }
        }
        if (missing.Count == 0)
            return 0;

        using var timeout = new CancellationTokenSource(_options.ReadRepairTimeout, timeProvider);
        var pushes = missing.Select(async entry =>
        {
            var records = entry.Value.Values.ToList();
            try
            {
                if (entry.Key == local.NodeId)
                    await local.AppendAsync(records, timeout.Token);
                else
                    await client.ReplicateAsync(snapshot.Find(entry.Key)!, records.Select(LocalReplica.Encode).ToList(), handoff: true, timeout.Token);
                metrics.Repaired(records.Count);
                LogReadRepaired(records.Count, entry.Key);
                return records.Count;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogReadRepairFailed(records.Count, entry.Key, ex.Message);
                return 0;
            }
        });
        return (await Task.WhenAll(pushes)).Sum();
    }

    /// <summary>One replica set and the part of the ring (or the partitions) it holds, and how the asking went.</summary>
    private sealed class ReadGroup(
        ImmutableArray<RingMember> replicas,
        IReadOnlyList<Ring.TokenRange> ranges,
        List<string>? partitions,
        int required,
        List<RingMember> candidates)
    {
        private int _nextCandidate;

        public ImmutableArray<RingMember> Replicas { get; } = replicas;

        public IReadOnlyList<Ring.TokenRange> Ranges { get; } = ranges;

        public List<string>? Partitions { get; } = partitions;

        public int Required { get; } = required;

        public HashSet<string> Asked { get; } = new(StringComparer.Ordinal);

        public List<NodeReply> Answers { get; } = [];

        public List<string> Failures { get; } = [];

        public int InFlight { get; set; }

        public bool Satisfied => Answers.Count >= Required;

        public RingMember? NextCandidate() => _nextCandidate < candidates.Count ? candidates[_nextCandidate++] : null;

        public bool InScope(string partition) =>
            Partitions?.Contains(partition) ?? Ranges.Any(r => r.Contains(TokenRing.TokenFor(partition)));

        /// <summary>Partitions this group is known to hold: named by the query, or reported by replicas that answered.</summary>
        public IEnumerable<string> KnownPartitions() =>
            Partitions ?? Answers.SelectMany(a => a.Partitions).Where(InScope);
    }

    /// <summary>One replica's answer, decoded, with what it would have returned had it held more.</summary>
    private sealed class NodeReply
    {
        private readonly HashSet<(string Partition, string Id)> _keys = [];

        public required string Node { get; init; }

        public required List<(LogRecord Record, string Partition)> Records { get; init; }

        public required IReadOnlyList<string> Partitions { get; init; }

        public required bool Truncated { get; init; }

        public static NodeReply From(string node, ReadReply reply, Partitioner partitioner)
        {
            var records = LocalReplica.Decode(reply.Records).Select(r => (r, partitioner.Place(r).Partition)).ToList();
            var nodeReply = new NodeReply { Node = node, Records = records, Partitions = reply.Partitions.ToList(), Truncated = reply.Truncated };
            foreach (var (record, partition) in records)
                nodeReply._keys.Add((partition, record.Id));
            return nodeReply;
        }

        public bool Has(string partition, string id) => _keys.Contains((partition, id));

        /// <summary>Whether this replica's answer would include the record if it held it: inside its limit window.</summary>
        public bool WouldHaveReturned(LogRecord record, string partition)
        {
            if (!Truncated || Records.Count == 0)
                return true;
            var (last, lastPartition) = Records[^1];
            return NewestFirst.Compare(record, partition, last, lastPartition) < 0;
        }
    }

    private sealed class ReplicaSetComparer : IEqualityComparer<ImmutableArray<RingMember>>
    {
        public static readonly ReplicaSetComparer Instance = new();

        public bool Equals(ImmutableArray<RingMember> x, ImmutableArray<RingMember> y) =>
            x.Select(r => r.Id).Order(StringComparer.Ordinal).SequenceEqual(y.Select(r => r.Id).Order(StringComparer.Ordinal));

        public int GetHashCode(ImmutableArray<RingMember> set)
        {
            var hash = 0;
            foreach (var member in set)
                hash ^= StringComparer.Ordinal.GetHashCode(member.Id);
            return hash;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Replica {Node} failed a read: {Reason}")]
    private partial void LogReplicaReadFailed(string node, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Read repair: sent {Count} missing records to {Node}")]
    private partial void LogReadRepaired(int count, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Read repair of {Count} records to {Node} failed ({Reason}); anti-entropy will repair them")]
    private partial void LogReadRepairFailed(int count, string node, string reason);
}
