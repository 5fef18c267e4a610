namespace LogStream.Node.Membership;

/// <summary>What this node currently believes about the cluster and about its link to the member table.</summary>
/// <param name="Snapshot">The last member table read successfully (kept while the store is unreachable).</param>
/// <param name="StoreReachable">Whether the last call to the membership store succeeded.</param>
/// <param name="LastContact">When the store last answered; null when it never did.</param>
/// <param name="LastError">Why the last call failed, when it did.</param>
public sealed record MembershipState(
    MembershipSnapshot Snapshot,
    bool StoreReachable,
    DateTimeOffset? LastContact,
    string? LastError)
{
    public static readonly MembershipState Initial = new(MembershipSnapshot.Empty, false, null, "not contacted yet");

    /// <summary>Serving on a stale view: the store is unreachable.</summary>
    public bool Degraded => !StoreReachable;
}

/// <summary>
/// Holder of the current <see cref="MembershipState"/>. Reads are a single volatile load (no locks);
/// only the <see cref="MembershipAgent"/> writes, by swapping whole immutable states.
/// </summary>
public sealed class MembershipView
{
    private MembershipState _current = MembershipState.Initial;

    public MembershipState Current => Volatile.Read(ref _current);

    public MembershipSnapshot Snapshot => Current.Snapshot;

    /// <summary>Raised after every swap that changed the set of members or any member's state.</summary>
    public event Action<MembershipSnapshot, MembershipSnapshot>? MembersChanged;

    internal void Publish(MembershipState next)
    {
        var previous = Interlocked.Exchange(ref _current, next);
        if (!ReferenceEquals(previous.Snapshot, next.Snapshot) && !SameMembers(previous.Snapshot, next.Snapshot))
            MembersChanged?.Invoke(previous.Snapshot, next.Snapshot);
    }

    private static bool SameMembers(MembershipSnapshot a, MembershipSnapshot b)
    {
        if (a.Members.Length != b.Members.Length)
            return false;
        for (var i = 0; i < a.Members.Length; i++)
        {
            var x = a.Members[i];
            var y = b.Members[i];
            if (x.Id != y.Id || x.State != y.State || x.Zone != y.Zone || x.Address != y.Address || x.InternalAddress != y.InternalAddress || x.Incarnation != y.Incarnation
                || x.Remembered != y.Remembered)
                return false;
        }
        return true;
    }
}
