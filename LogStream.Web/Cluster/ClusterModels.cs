namespace LogStream.Web.Cluster;

/// <summary>A node's <c>GET /api/cluster</c> answer, as far as the dashboard uses it.</summary>
public sealed record ClusterInfo(
    string Cluster,
    string NodeId,
    bool Degraded,
    DateTimeOffset? SnapshotAt,
    int ReplicationFactor,
    IReadOnlyList<MemberInfo> Members,
    RingInfo Ring,
    IReadOnlyList<ClusterPartitionInfo>? Partitions = null);

public sealed record MemberInfo(
    string Id,
    string Address,
    string? Zone,
    string State,
    DateTimeOffset LastHeartbeat,
    long Incarnation,
    double Ownership);

public sealed record RingInfo(int VirtualNodes, string Fingerprint, IReadOnlyDictionary<string, List<string>>? Tokens);

/// <summary>A partition the answering node holds and the replicas the ring assigns it (primary first).</summary>
public sealed record ClusterPartitionInfo(string Partition, string Token, IReadOnlyList<string> Replicas, long Records, int Buckets);

/// <summary>What the dashboard learned about the cluster this time, and from whom.</summary>
/// <param name="Cluster">The answer, or null when no node answered.</param>
/// <param name="AnsweredBy">URL of the node that answered.</param>
/// <param name="Errors">Nodes that did not answer, and why.</param>
public sealed record ClusterReport(ClusterInfo? Cluster, string? AnsweredBy, IReadOnlyList<string> Errors, DateTimeOffset FetchedAt)
{
    public bool Reachable => Cluster is not null;
}

/// <summary>A node's <c>GET /api/node</c> answer: its own figures and one entry per local (partition, bucket).</summary>
public sealed record NodeInfo(string Id, string? Zone, string? Address, NodeStats Stats, IReadOnlyList<NodeBucketInfo> Partitions);

public sealed record NodeStats(
    long RecordsIngested,
    long RecordsStored,
    long DiskBytes,
    long HintsPending,
    long QuorumFailures,
    long RepairsCompleted,
    long RecordsRepaired,
    long ReadRepaired,
    DateTimeOffset? LastRepair);

/// <param name="Root">The bucket's Merkle root (16 hex digits); equal roots on the replicas mean the copies agree.</param>
public sealed record NodeBucketInfo(string Partition, DateTimeOffset Bucket, long Records, string Root, bool Sealed);
