namespace LogStream.Node.Membership;

/// <summary>What a member says about itself, as stored in the membership table.</summary>
public sealed record MemberRow
{
    public required string Id { get; init; }

    /// <summary>Public HTTP base URL of the member.</summary>
    public required string Address { get; init; }

    /// <summary>Internal (replica, gRPC over HTTP/2) base URL of the member; null when it has none.</summary>
    public string? InternalAddress { get; init; }

    public string? Zone { get; init; }

    /// <summary>Grows by one every time the member process starts, so a restart is distinguishable from a stale row.</summary>
    public long Incarnation { get; init; }

    public MemberStatus Status { get; init; }

    /// <summary>The member's own clock at its last heartbeat.</summary>
    public DateTimeOffset HeartbeatAt { get; init; }

    /// <summary>Grows by one on every write; writes are conditional on it (optimistic concurrency).</summary>
    public long Version { get; init; }
}

/// <summary>What a member declares about itself. Stored by name: add names, never rename one.</summary>
public enum MemberStatus
{
    /// <summary>Running and heartbeating.</summary>
    Alive = 0,

    /// <summary>Shut down gracefully; still owns its ring tokens and will come back.</summary>
    Stopped = 1,

    /// <summary>Being removed by an operator; its data is handed to the new owners.</summary>
    Leaving = 2,
}
