using System.Collections.Immutable;

namespace LogStream.Node.Membership;

/// <summary>How the cluster sees a member right now.</summary>
public enum MemberState
{
    Up = 0,
    Suspect = 1,
    Down = 2,
    Leaving = 3,
}

/// <summary>A member as observed: its row plus the state derived from its heartbeat age.</summary>
/// <param name="Remembered">
/// True when the member table does not list it and it is known from this node's memory only (always <c>down</c> then).
/// </param>
public sealed record Member(
    string Id,
    string Address,
    string? InternalAddress,
    string? Zone,
    MemberState State,
    DateTimeOffset LastHeartbeat,
    long Incarnation,
    bool Remembered = false);

/// <summary>
/// An immutable view of the member table at one instant. Readers hold on to whichever snapshot they got;
/// the agent swaps in a new one atomically, so nobody ever sees a half-updated cluster.
/// </summary>
public sealed class MembershipSnapshot
{
    public static readonly MembershipSnapshot Empty = new([], DateTimeOffset.MinValue);

    private MembershipSnapshot(ImmutableArray<Member> members, DateTimeOffset takenAt)
    {
        Members = members;
        TakenAt = takenAt;
    }

    /// <summary>Every member, sorted by id.</summary>
    public ImmutableArray<Member> Members { get; }

    /// <summary>When the rows behind this snapshot were read.</summary>
    public DateTimeOffset TakenAt { get; }

    public Member? Find(string memberId)
    {
        foreach (var member in Members)
        {
            if (member.Id == memberId)
                return member;
        }
        return null;
    }

    /// <summary>Derives every member's state from its row and heartbeat age at <paramref name="now"/>.</summary>
    public static MembershipSnapshot Create(IEnumerable<MemberRow> rows, DateTimeOffset now, MembershipOptions options) =>
        Create(rows, [], now, options);

    /// <summary>
    /// The same, plus every <paramref name="remembered"/> member the table does not list, as <c>down</c>: a member the
    /// store forgot keeps its place in the ring (its writes become hints) until an operator removes it.
    /// </summary>
    public static MembershipSnapshot Create(IEnumerable<MemberRow> rows, IEnumerable<RememberedMember> remembered, DateTimeOffset now, MembershipOptions options)
    {
        var members = rows
            .Select(row => new Member(row.Id, row.Address, row.InternalAddress, NullIfEmpty(row.Zone), StateOf(row, now, options), row.HeartbeatAt, row.Incarnation))
            .DistinctBy(m => m.Id, StringComparer.Ordinal)
            .ToList();
        var listed = members.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
        members.AddRange(remembered
            .Where(m => !listed.Contains(m.Id))
            .DistinctBy(m => m.Id, StringComparer.Ordinal)
            .Select(m => new Member(m.Id, m.Address, m.InternalAddress, NullIfEmpty(m.Zone), MemberState.Down, m.LastHeartbeat, m.Incarnation, Remembered: true)));
        return new MembershipSnapshot([.. members.OrderBy(m => m.Id, StringComparer.Ordinal)], now);
    }

    /// <summary>The state failure detection assigns to a row: declared status first, then heartbeat age.</summary>
    public static MemberState StateOf(MemberRow row, DateTimeOffset now, MembershipOptions options)
    {
        switch (row.Status)
        {
            case MemberStatus.Stopped:
                return MemberState.Down;
            case MemberStatus.Leaving:
                return MemberState.Leaving;
        }

        var age = now - row.HeartbeatAt;
        if (age >= options.DownAfter)
            return MemberState.Down;
        if (age >= options.SuspectAfter)
            return MemberState.Suspect;
        return MemberState.Up;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
