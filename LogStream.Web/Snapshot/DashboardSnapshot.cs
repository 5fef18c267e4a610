using System.Text.Json.Serialization;

namespace LogStream.Web.Snapshot;

/// <summary>
/// What the dashboard knows about the cluster at <see cref="LastUpdate"/>: the figures of the tiles, one row per node and
/// one per (partition, bucket). Immutable; the refresher swaps in a new one every second. Served as <c>GET /metrics</c>.
/// </summary>
/// <param name="LastUpdate">When this snapshot was made (every refresh, whether or not the nodes answered).</param>
/// <param name="FiguresAsOf">When the oldest figure in it was fetched; null before any node ever answered.</param>
/// <param name="Stale">True when some figures are not from this refresh (a node did not answer, or none did).</param>
/// <param name="Ingested">Records accepted by the coordinators (sum of the nodes' <c>records_ingested</c>).</param>
/// <param name="Rate">Ingested records per second over the last <see cref="SnapshotOptions.RateWindow"/>.</param>
/// <param name="ErrorCount">ERROR-and-above records in the last hour (a cluster query, capped at its limit); null until first counted.</param>
/// <param name="Problems">Plain sentences for the banner: nodes down, nodes not answering, stale figures.</param>
public sealed record DashboardSnapshot(
    DateTimeOffset LastUpdate,
    DateTimeOffset? FiguresAsOf,
    bool Stale,
    long Ingested,
    double Rate,
    long? ErrorCount,
    bool ErrorCountCapped,
    long RepairsCompleted,
    long RecordsRepaired,
    long ReadRepaired,
    long HintsPending,
    long QuorumFailures,
    long RecordsStored,
    long DiskBytes,
    DateTimeOffset? LastRepair,
    ClusterSummary? Cluster,
    IReadOnlyList<NodeFigures> Nodes,
    IReadOnlyList<PartitionSync> Partitions,
    int PartitionsTotal,
    IReadOnlyList<string> Problems)
{
    /// <summary>Before the first refresh.</summary>
    public static DashboardSnapshot Empty(DateTimeOffset now) =>
        new(now, null, true, 0, 0, null, false, 0, 0, 0, 0, 0, 0, 0, null, null, [], [], 0, ["Waiting for the first refresh."]);

    /// <summary>(time, ingested) samples of recent refreshes, for the rate; not served.</summary>
    [JsonIgnore]
    public IReadOnlyList<IngestSample> History { get; init; } = [];
}

public readonly record struct IngestSample(DateTimeOffset At, long Ingested);

/// <param name="AnsweredBy">URL of the node whose cluster view this is.</param>
/// <param name="RingFingerprint">Equal fingerprints mean identical rings; the page refetches the ring when it changes.</param>
public sealed record ClusterSummary(string Name, string NodeId, string? AnsweredBy, bool Degraded, int ReplicationFactor, int VirtualNodes, string RingFingerprint);

/// <summary>One member: its state from the membership view and its own figures from its <c>/api/node</c>.</summary>
/// <param name="Reachable">Whether this refresh got the node's figures; when false they are the last ones seen (<see cref="FetchedAt"/>).</param>
/// <param name="Partitions">Distinct partitions the node holds.</param>
public sealed record NodeFigures(
    string Id,
    string Address,
    string? Zone,
    string State,
    DateTimeOffset? LastHeartbeat,
    bool Reachable,
    string? Error,
    DateTimeOffset? FetchedAt,
    long Ingested,
    long Records,
    int Partitions,
    int Buckets,
    long DiskBytes,
    long HintsPending,
    long QuorumFailures,
    long RepairsCompleted,
    long RecordsRepaired,
    long ReadRepaired,
    DateTimeOffset? LastRepair)
{
    /// <summary>The node's (partition, bucket) entries behind the partition table; not served per node.</summary>
    [JsonIgnore]
    public IReadOnlyList<Cluster.NodeBucketInfo> BucketEntries { get; init; } = [];
}

/// <summary>One (partition, bucket) across its replicas.</summary>
/// <param name="Token">The partition's ring token (decimal), when the answering node holds the partition.</param>
/// <param name="Position">The token as a fraction of a turn, for the ring picture.</param>
/// <param name="Status"><c>in_sync</c> (every replica answered with the same root), <c>differs</c> (roots differ or a replica lacks the bucket), <c>unknown</c> (some replica's figures are missing or stale).</param>
public sealed record PartitionSync(string Partition, DateTimeOffset Bucket, string? Token, double? Position, IReadOnlyList<ReplicaBucket> Replicas, bool InSync, string Status);

/// <param name="Present">False when the replica answered but holds nothing of this bucket.</param>
/// <param name="Fresh">False when the figures are not from this refresh.</param>
public sealed record ReplicaBucket(string Node, bool Present, bool Fresh, long? Records, string? Root, bool? Sealed);
