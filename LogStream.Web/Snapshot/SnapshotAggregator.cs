using System.Globalization;
using LogStream.Web.Cluster;

namespace LogStream.Web.Snapshot;

/// <summary>What one refresh fetched from one node: its <c>/api/node</c> answer, or why there was none.</summary>
public sealed record NodePoll(string Id, string Address, NodeInfo? Node, string? Error);

/// <summary>The last count of ERROR-and-above records.</summary>
public sealed record ErrorTally(long Count, bool Capped, DateTimeOffset At);

/// <summary>
/// Turns one refresh's answers into a <see cref="DashboardSnapshot"/>: a pure function of the previous snapshot, the
/// cluster view, the node polls and the clock, so the figures can be tested without a cluster. A node that did not answer
/// keeps its last figures (marked stale) so totals do not dip while it is down.
/// </summary>
public static class SnapshotAggregator
{
    public const int MaxPartitionRows = 200;

    public static DashboardSnapshot Aggregate(
        DashboardSnapshot previous,
        ClusterReport cluster,
        IReadOnlyList<NodePoll> polls,
        ErrorTally? errors,
        DateTimeOffset now,
        TimeSpan rateWindow)
    {
        var problems = new List<string>();
        var previousNodes = previous.Nodes.ToDictionary(n => n.Id, StringComparer.Ordinal);
        var pollsById = polls.ToDictionary(p => p.Id, StringComparer.Ordinal);
        var info = cluster.Cluster;

        if (info is null)
        {
            problems.Add(cluster.Errors.Count == 0
                ? "No node answers; the figures below are the last ones seen."
                : $"No node answers ({string.Join("; ", cluster.Errors)}); the figures below are the last ones seen.");
        }
        else if (info.Degraded)
        {
            problems.Add($"{info.NodeId} cannot reach the membership store: member states may be stale.");
        }

        // Members come from the cluster view; without one, the last known members stay (state unknown).
        var members = info?.Members.Select(m => (m.Id, m.Address, m.Zone, m.State, (DateTimeOffset?)m.LastHeartbeat)).ToList()
                      ?? previous.Nodes.Select(n => (n.Id, n.Address, n.Zone, State: "unknown", n.LastHeartbeat)).ToList();

        var nodes = new List<NodeFigures>(members.Count);
        foreach (var (id, address, zone, state, heartbeat) in members)
        {
            previousNodes.TryGetValue(id, out var last);
            pollsById.TryGetValue(id, out var poll);
            if (state is "down" or "suspect" or "leaving")
                problems.Add($"{id} is {state}" + (heartbeat is { } h ? $" (last heartbeat {Clock(h)})." : "."));

            if (poll?.Node is { } node)
            {
                nodes.Add(Fresh(id, address, zone ?? node.Zone, state, heartbeat, node, now));
                continue;
            }
            var reason = poll?.Error ?? (info is null ? "no cluster view" : "not asked");
            if (state == "up")
            {
                problems.Add(last?.FetchedAt is { } at
                    ? $"{id} does not answer ({reason}); its figures are from {Clock(at)}."
                    : $"{id} does not answer ({reason}); no figures yet.");
            }
            nodes.Add(last is null
                ? new NodeFigures(id, address, zone, state, heartbeat, false, reason, null, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null)
                : last with { Address = address, Zone = zone ?? last.Zone, State = state, LastHeartbeat = heartbeat, Reachable = false, Error = reason });
        }

        var ingested = nodes.Sum(n => n.Ingested);
        var history = previous.History.Where(s => now - s.At <= rateWindow).Append(new IngestSample(now, ingested)).ToList();
        var oldest = history[0];
        var seconds = (now - oldest.At).TotalSeconds;
        // A node restart resets its counter: never report a negative rate.
        var rate = seconds > 0 ? Math.Max(0, (ingested - oldest.Ingested) / seconds) : previous.Rate;

        var (partitions, total) = Partitions(nodes, info);
        var figuresAsOf = nodes.Where(n => n.FetchedAt is not null).Select(n => n.FetchedAt).Min();
        var stale = info is null || nodes.Any(n => !n.Reachable);
        var lastRepair = nodes.Select(n => n.LastRepair).Where(t => t is not null).Max();

        return new DashboardSnapshot(
            LastUpdate: now,
            FiguresAsOf: figuresAsOf,
            Stale: stale,
            Ingested: ingested,
            Rate: Math.Round(rate, 1),
            ErrorCount: errors?.Count ?? previous.ErrorCount,
            ErrorCountCapped: errors?.Capped ?? previous.ErrorCountCapped,
            RepairsCompleted: nodes.Sum(n => n.RepairsCompleted),
            RecordsRepaired: nodes.Sum(n => n.RecordsRepaired),
            ReadRepaired: nodes.Sum(n => n.ReadRepaired),
            HintsPending: nodes.Sum(n => n.HintsPending),
            QuorumFailures: nodes.Sum(n => n.QuorumFailures),
            RecordsStored: nodes.Sum(n => n.Records),
            DiskBytes: nodes.Sum(n => n.DiskBytes),
            LastRepair: lastRepair,
            Cluster: info is null
                ? previous.Cluster
                : new ClusterSummary(info.Cluster, info.NodeId, cluster.AnsweredBy, info.Degraded, info.ReplicationFactor, info.Ring.VirtualNodes, info.Ring.Fingerprint),
            Nodes: nodes,
            Partitions: partitions,
            PartitionsTotal: total,
            Problems: problems)
        {
            History = history,
        };
    }

    private static NodeFigures Fresh(string id, string address, string? zone, string state, DateTimeOffset? heartbeat, NodeInfo node, DateTimeOffset now) =>
        new(id, address, zone, state, heartbeat, true, null, now,
            Ingested: node.Stats.RecordsIngested,
            Records: node.Stats.RecordsStored,
            Partitions: node.Partitions.Select(p => p.Partition).Distinct(StringComparer.Ordinal).Count(),
            Buckets: node.Partitions.Count,
            DiskBytes: node.Stats.DiskBytes,
            HintsPending: node.Stats.HintsPending,
            QuorumFailures: node.Stats.QuorumFailures,
            RepairsCompleted: node.Stats.RepairsCompleted,
            RecordsRepaired: node.Stats.RecordsRepaired,
            ReadRepaired: node.Stats.ReadRepaired,
            LastRepair: node.Stats.LastRepair)
        {
            BucketEntries = node.Partitions,
        };

    /// <summary>
    /// One row per (partition, bucket) any node reported, newest buckets first. Its replicas are the ones the answering
    /// node's ring assigns to the partition, plus any node that reported holding it.
    /// </summary>
    private static (IReadOnlyList<PartitionSync> Rows, int Total) Partitions(IReadOnlyList<NodeFigures> nodes, ClusterInfo? info)
    {
        var assigned = (info?.Partitions ?? []).ToDictionary(p => p.Partition, StringComparer.Ordinal);
        var entries = nodes
            .SelectMany(n => n.BucketEntries.Select(b => (Node: n, Entry: b)))
            .GroupBy(x => (x.Entry.Partition, x.Entry.Bucket))
            .ToList();
        var byNode = nodes.ToDictionary(n => n.Id, StringComparer.Ordinal);

        var rows = new List<PartitionSync>(entries.Count);
        foreach (var group in entries)
        {
            var (partition, bucket) = group.Key;
            var placement = assigned.GetValueOrDefault(partition);
            var replicaIds = (placement?.Replicas ?? [])
                .Concat(group.Select(x => x.Node.Id))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            var replicas = new List<ReplicaBucket>(replicaIds.Count);
            foreach (var replicaId in replicaIds)
            {
                var node = byNode.GetValueOrDefault(replicaId);
                var entry = group.FirstOrDefault(x => x.Node.Id == replicaId).Entry;
                var fresh = node?.Reachable == true;
                replicas.Add(entry is null
                    ? new ReplicaBucket(replicaId, false, fresh, null, null, null)
                    : new ReplicaBucket(replicaId, true, fresh, entry.Records, entry.Root, entry.Sealed));
            }
            var status = replicas.Any(x => !x.Fresh) ? "unknown"
                : replicas.All(x => x.Present) && replicas.Select(x => x.Root).Distinct(StringComparer.OrdinalIgnoreCase).Count() == 1 ? "in_sync"
                : "differs";
            rows.Add(new PartitionSync(partition, bucket, placement?.Token, placement is null ? null : RingCache.Fraction(placement.Token),
                replicas, status == "in_sync", status));
        }
        var ordered = rows
            .OrderByDescending(p => p.Bucket)
            .ThenBy(p => p.Partition, StringComparer.Ordinal)
            .ToList();
        return (ordered.Take(MaxPartitionRows).ToList(), ordered.Count);
    }

    private static string Clock(DateTimeOffset time) => time.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture) + "Z";
}
