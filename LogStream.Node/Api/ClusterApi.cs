using System.Globalization;
using LogStream.Node.Membership;
using LogStream.Node.Ring;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Api;

/// <summary><c>GET /api/cluster</c>: the members, their states and the ring, as this node sees them.</summary>
public static class ClusterApi
{
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/cluster", GetCluster)
            .WithName("GetCluster")
            .WithSummary("Members, their states and the token ring as this node sees them.");
        return endpoints;
    }

    public static ClusterResponse GetCluster(
        MembershipView membership,
        RingView ringView,
        IOptions<NodeOptions> nodeOptions)
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
                    Math.Round(ownership.GetValueOrDefault(m.Id), 6)))
                .ToList(),
            Ring: new RingResponse(
                ring.VirtualNodes,
                ring.Fingerprint,
                ring.Members.ToDictionary(
                    m => m.Id,
                    m => ring.TokensOf(m.Id).Select(t => t.ToString(CultureInfo.InvariantCulture)).ToList())));
    }
}

public sealed record ClusterResponse(
    string Cluster,
    string NodeId,
    bool Degraded,
    DateTimeOffset? SnapshotAt,
    int ReplicationFactor,
    IReadOnlyList<MemberResponse> Members,
    RingResponse Ring);

/// <param name="State">One of <c>up</c>, <c>suspect</c>, <c>down</c>, <c>leaving</c>.</param>
/// <param name="Ownership">Fraction of the token space this member owns as primary replica.</param>
public sealed record MemberResponse(
    string Id,
    string Address,
    string? InternalAddress,
    string? Zone,
    string State,
    DateTimeOffset LastHeartbeat,
    long Incarnation,
    double Ownership);

/// <param name="Tokens">Each member's tokens, ascending, as decimal strings (64-bit values do not fit a JSON number).</param>
public sealed record RingResponse(int VirtualNodes, string Fingerprint, IReadOnlyDictionary<string, List<string>> Tokens);
