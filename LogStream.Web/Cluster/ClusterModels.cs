namespace LogStream.Web.Cluster;

/// <summary>A node's <c>GET /api/cluster</c> answer, as far as the dashboard uses it.</summary>
public sealed record ClusterInfo(
    string Cluster,
    string NodeId,
    bool Degraded,
    DateTimeOffset? SnapshotAt,
    int ReplicationFactor,
    IReadOnlyList<MemberInfo> Members,
    RingInfo Ring);

public sealed record MemberInfo(
    string Id,
    string Address,
    string? Zone,
    string State,
    DateTimeOffset LastHeartbeat,
    long Incarnation,
    double Ownership);

public sealed record RingInfo(int VirtualNodes, string Fingerprint, IReadOnlyDictionary<string, List<string>>? Tokens);

/// <summary>What the dashboard learned about the cluster this time, and from whom.</summary>
/// <param name="Cluster">The answer, or null when no node answered.</param>
/// <param name="AnsweredBy">URL of the node that answered.</param>
/// <param name="Errors">Nodes that did not answer, and why.</param>
public sealed record ClusterReport(ClusterInfo? Cluster, string? AnsweredBy, IReadOnlyList<string> Errors, DateTimeOffset FetchedAt)
{
    public bool Reachable => Cluster is not null;
}
