using System.ComponentModel.DataAnnotations;

namespace LogStream.Node.Replication;

/// <summary>The replica client and coordinators. Section <c>LogStream:Replication</c>.</summary>
public sealed class ReplicationOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Replication";

    /// <summary>Bound of one replicate call to a peer (one attempt). Default 2 s.</summary>
    public TimeSpan WriteAttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Bound of one read call to a peer. Default 5 s.</summary>
    public TimeSpan ReadAttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bound of one anti-entropy call to a peer (tree nodes, digests, a fetch of many records). Default 30 s.</summary>
    public TimeSpan RepairAttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Replicate calls of client writes running at once to one peer; writes arriving meanwhile wait and go together
    /// in the next call. Default 2.
    /// </summary>
    [Range(1, 1024, ErrorMessage = "LogStream:Replication:MaxWriteCallsPerPeer must be between 1 and 1024.")]
    public int MaxWriteCallsPerPeer { get; set; } = 2;

    /// <summary>Most records of waiting writes joined into one replicate call (a single larger write still goes whole). Default 10 000.</summary>
    [Range(1, 1_000_000, ErrorMessage = "LogStream:Replication:MaxRecordsPerWriteCall must be between 1 and 1000000.")]
    public int MaxRecordsPerWriteCall { get; set; } = 10_000;

    /// <summary>Extra attempts after a transient failure (unavailable, reset connection); writes are idempotent. Default 2.</summary>
    [Range(0, 10, ErrorMessage = "LogStream:Replication:MaxRetries must be between 0 and 10.")]
    public int MaxRetries { get; set; } = 2;

    /// <summary>First retry delay; later ones grow exponentially, with jitter. Default 20 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Circuit breaker per peer: failure ratio over <see cref="BreakerSamplingDuration"/> that opens it. Default 0.5.</summary>
    [Range(0.01, 1.0, ErrorMessage = "LogStream:Replication:BreakerFailureRatio must be between 0.01 and 1.")]
    public double BreakerFailureRatio { get; set; } = 0.5;

    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Calls needed in the sampling window before the breaker may open. Default 8.</summary>
    [Range(2, 10_000, ErrorMessage = "LogStream:Replication:BreakerMinimumThroughput must be between 2 and 10000.")]
    public int BreakerMinimumThroughput { get; set; } = 8;

    /// <summary>How long an open breaker turns writes to that peer into hints at once. Default 5 s.</summary>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A read asks one more replica when an asked one has not answered within this delay. Default 50 ms.</summary>
    public TimeSpan HedgeDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Bound of pushing missing records to a replica after a read (read repair). Default 2 s.</summary>
    public TimeSpan ReadRepairTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, value) in new[]
                 {
                     (nameof(WriteAttemptTimeout), WriteAttemptTimeout), (nameof(ReadAttemptTimeout), ReadAttemptTimeout),
                     (nameof(RepairAttemptTimeout), RepairAttemptTimeout),
                     (nameof(BreakerSamplingDuration), BreakerSamplingDuration), (nameof(BreakerBreakDuration), BreakerBreakDuration),
                     (nameof(ReadRepairTimeout), ReadRepairTimeout),
                 })
        {
            if (value <= TimeSpan.Zero)
                yield return new ValidationResult($"LogStream:Replication:{name} must be positive.", [name]);
        }
        if (RetryBaseDelay < TimeSpan.Zero)
            yield return new ValidationResult("LogStream:Replication:RetryBaseDelay must not be negative.", [nameof(RetryBaseDelay)]);
        if (HedgeDelay <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:Replication:HedgeDelay must be positive.", [nameof(HedgeDelay)]);
        if (BreakerBreakDuration < TimeSpan.FromMilliseconds(500))
            yield return new ValidationResult("LogStream:Replication:BreakerBreakDuration must be at least 0.5 s (Polly's minimum).", [nameof(BreakerBreakDuration)]);
        if (BreakerSamplingDuration < TimeSpan.FromMilliseconds(500))
            yield return new ValidationResult("LogStream:Replication:BreakerSamplingDuration must be at least 0.5 s (Polly's minimum).", [nameof(BreakerSamplingDuration)]);
    }
}
