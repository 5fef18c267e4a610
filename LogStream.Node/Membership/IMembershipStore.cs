namespace LogStream.Node.Membership;

/// <summary>
/// The shared member table. Every row belongs to one member; writes are versioned so two writers of the
/// same row never silently overwrite each other. Implementations: Redis (real use) and in-memory (unit tests).
/// </summary>
public interface IMembershipStore
{
    /// <summary>Every row of the cluster's table.</summary>
    Task<IReadOnlyList<MemberRow>> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>One row, or null when the member never registered (or was removed).</summary>
    Task<MemberRow?> ReadAsync(string memberId, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="row"/> only if the stored row's version is <paramref name="expectedVersion"/>
    /// (0: no row may exist). The stored version becomes <c>expectedVersion + 1</c>, whatever
    /// <see cref="MemberRow.Version"/> says. Returns false, writing nothing, when the version does not match.
    /// </summary>
    Task<bool> TryWriteAsync(MemberRow row, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Removes a row if its version still matches (an operator decommissioning a member).</summary>
    Task<bool> TryRemoveAsync(string memberId, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Announces a change so that other members refresh at once instead of at their next tick.</summary>
    Task PublishAsync(MembershipEvent membershipEvent, CancellationToken cancellationToken);

    /// <summary>Receives announcements from every member (this one included) until the subscription is disposed.</summary>
    Task<IAsyncDisposable> SubscribeAsync(Action<MembershipEvent> onEvent, CancellationToken cancellationToken);
}

public enum MembershipEventKind
{
    Joined = 0,
    Left = 1,
    Removed = 2,
}

public sealed record MembershipEvent(MembershipEventKind Kind, string MemberId, long Incarnation);
