using System.ComponentModel.DataAnnotations;

namespace LogStream.Node.Membership;

/// <summary>Heartbeat and failure-detection timing. Section <c>LogStream:Membership</c>.</summary>
public sealed class MembershipOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Membership";

    /// <summary>How often the node writes its heartbeat and re-reads the member table. Default 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Heartbeat age after which a member is <c>suspect</c>. Default 2.5 s.</summary>
    public TimeSpan SuspectAfter { get; set; } = TimeSpan.FromSeconds(2.5);

    /// <summary>The suspicion timeout: heartbeat age after which a member is <c>down</c>. Default 5 s.</summary>
    public TimeSpan DownAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound of one call to the membership store, so a hung Redis never stalls the heartbeat loop.</summary>
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (HeartbeatInterval <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:Membership:HeartbeatInterval must be positive.", [nameof(HeartbeatInterval)]);
        if (SuspectAfter <= HeartbeatInterval)
            yield return new ValidationResult("LogStream:Membership:SuspectAfter must be longer than HeartbeatInterval.", [nameof(SuspectAfter)]);
        if (DownAfter <= SuspectAfter)
            yield return new ValidationResult("LogStream:Membership:DownAfter must be longer than SuspectAfter.", [nameof(DownAfter)]);
        if (StoreTimeout <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:Membership:StoreTimeout must be positive.", [nameof(StoreTimeout)]);
    }
}
