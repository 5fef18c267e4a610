using System.Globalization;
using LogStream.Node.Membership;
using LogStream.Node.Ring;
using LogStream.Storage;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Api;

/// <summary><c>GET /api/cluster</c>: the members, their states and the ring, as this node sees them.</summary>
public static class ClusterApi
{
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/cluster", GetCluster)
            .WithName("GetCluster")
            .WithSummary("Members, their states, the token ring and the partitions this node holds, as this node sees them.");
        return endpoints;
    }

    public static ClusterResponse GetCluster(
        MembershipView membership,
        RingView ringView,
        ILogStore store,
        IOptions<NodeOptions> nodeOptions,
        bool? tokens)
    {
        var state = membership.Current;
        var ring = ringView.Current;
        var ownership = ring.PrimaryOwnership();
        return new ClusterResponse(
            Cluster: nodeOptions.Value.ClusterName,
            NodeId: nodeOptions.Value.NodeId,
            Degraded: state.Degraded,
            SnapshotAt: state.Snapshot.TakenAt == DateTimeOffset.MinValue ? null : state.Snapshot.TakenAt,
            ReplicationFactor: ringView.ReplicationFactor,
            Members: state.Snapshot.Members
                .Select(m => new MemberResponse(
                    m.Id,
                    m.Address,
                    m.InternalAddress,
                    m.Zone,
                    m.State.ToString().ToLowerInvariant(),
                    m.LastHeartbeat,
                    m.Incarnation,
                    Math.Round(ownership.GetValueOrDefault(m.Id), 6),
                    m.Remembered))
                .ToList(),
            Ring: new RingResponse(
                ring.VirtualNodes,
                ring.Fingerprint,
                tokens == false
                    ? null
                    : ring.Members.ToDictionary(
                        m => m.Id,
                        m => ring.TokensOf(m.Id).Select(t => t.ToString(CultureInfo.InvariantCulture)).ToList())),
            Partitions: store.ListBuckets()
                .GroupBy(b => b.Partition, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g =>
                {
                    var token = TokenRing.TokenFor(g.Key);
                    return new PartitionResponse(
                        g.Key,
                        token.ToString(CultureInfo.InvariantCulture),
                        ring.ReplicasFor(token, ringView.ReplicationFactor).Select(r => r.Id).ToList(),
                        g.Sum(b => b.Records),
                        g.Count());
                })
                .ToList());
    }
}

public sealed record ClusterResponse(
    string Cluster,
    string NodeId,
    bool Degraded,
    DateTimeOffset? SnapshotAt,
    int ReplicationFactor,
    IReadOnlyList<MemberResponse> Members,
    RingResponse Ring,
    IReadOnlyList<PartitionResponse> Partitions);

/// <summary>A partition this node holds, where the ring places it, and how much of it is here.</summary>
/// <param name="Replicas">The replicas the ring assigns, primary first.</param>
/// <param name="Records">Records of the partition held by this node.</param>
/// <param name="Buckets">Time buckets of the partition held by this node.</param>
public sealed record PartitionResponse(string Partition, string Token, IReadOnlyList<string> Replicas, long Records, int Buckets);

/// <param name="State">One of <c>up</c>, <c>suspect</c>, <c>down</c>, <c>leaving</c>.</param>
/// <param name="Ownership">Fraction of the token space this member owns as primary replica.</param>
/// <param name="Remembered">
/// True when the membership store does not list the member and this node keeps it from its own memory (state <c>down</c>):
/// it keeps its place in the ring and its writes become hints.
/// </param>
public sealed record MemberResponse(
    string Id,
    string Address,
    string? InternalAddress,
    string? Zone,
    string State,
    DateTimeOffset LastHeartbeat,
    long Incarnation,
    double Ownership,
    bool Remembered);

/// <param name="Tokens">Each member's tokens, ascending, as decimal strings (64-bit values do not fit a JSON number); omitted with <c>?tokens=false</c>.</param>
public sealed record RingResponse(int VirtualNodes, string Fingerprint, IReadOnlyDictionary<string, List<string>>? Tokens);
