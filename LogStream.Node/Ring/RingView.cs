using LogStream.Node.Membership;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Ring;

/// <summary>
/// The ring for the current membership, rebuilt only when the set of members or their zones change:
/// a member going down keeps its tokens (its writes become hints), only removal takes them away.
/// </summary>
public sealed class RingView
{
    private readonly int _virtualNodes;
    private TokenRing _current = TokenRing.Empty;

    public RingView(MembershipView membership, IOptions<RingOptions> options)
    {
        _virtualNodes = options.Value.VirtualNodes;
        ReplicationFactor = options.Value.ReplicationFactor;
        membership.MembersChanged += (_, snapshot) => Update(snapshot);
        Update(membership.Snapshot);
    }

    public TokenRing Current => Volatile.Read(ref _current);

    public int ReplicationFactor { get; }

    // Called by the membership agent only (one writer), so a plain volatile write publishes the new ring.
    private void Update(MembershipSnapshot snapshot)
    {
        if (SameMembers(Current, snapshot))
            return;
        var ring = TokenRing.Create(snapshot.Members.Select(m => new RingMember(m.Id, m.Zone)), _virtualNodes);
        Volatile.Write(ref _current, ring);
    }

    // Both lists are sorted by id.
    private static bool SameMembers(TokenRing ring, MembershipSnapshot snapshot)
    {
        if (ring.Members.Length != snapshot.Members.Length)
            return false;
        for (var i = 0; i < ring.Members.Length; i++)
        {
            if (ring.Members[i].Id != snapshot.Members[i].Id || ring.Members[i].Zone != snapshot.Members[i].Zone)
                return false;
        }
        return true;
    }
}
