using System.ComponentModel.DataAnnotations;

namespace LogStream.Node.Replication.Hints;

/// <summary>
/// Hinted handoff. Section <c>LogStream:Hints</c>; hints live in <c>{LogStream:DataDirectory}/hints/{target}/</c>.
/// </summary>
public sealed class HintOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Hints";

    /// <summary>
    /// When false, hints are neither stored (<see cref="HintLog.StoreAsync"/> drops them) nor replayed; a replica that
    /// missed writes then catches up through read repair and anti-entropy only. Default true.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Hints older than this (by the time they were stored, not the records' timestamps) are dropped. Default 3 h.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(3);

    /// <summary>How often targets that are up get their pending hints, and expiry runs. Default 1 s.</summary>
    public TimeSpan ReplayInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Most records per second this node replays to one target (a token bucket over the node's clock: never more than
    /// this rate times the time elapsed since the service started, in bursts of at most one interval's worth). Default 20 000.
    /// </summary>
    [Range(1, 10_000_000, ErrorMessage = "LogStream:Hints:ReplayRecordsPerSecond must be between 1 and 10000000.")]
    public int ReplayRecordsPerSecond { get; set; } = 20_000;

    /// <summary>Records per delivery call; also the most a crash in the middle of a replay re-delivers. Default 500.</summary>
    [Range(1, 100_000, ErrorMessage = "LogStream:Hints:ReplayBatchRecords must be between 1 and 100000.")]
    public int ReplayBatchRecords { get; set; } = 500;

    /// <summary>A hint segment rolls to a new file past this size; delivered segments are deleted whole. Default 64 MiB.</summary>
    [Range(4096, 1024L * 1024 * 1024, ErrorMessage = "LogStream:Hints:MaxSegmentBytes must be between 4096 and 1073741824 (1 GiB).")]
    public long MaxSegmentBytes { get; set; } = 64L * 1024 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromDays(30))
            yield return new ValidationResult("LogStream:Hints:Window must be between 00:00:01 and 30.00:00:00.", [nameof(Window)]);
        if (ReplayInterval < TimeSpan.FromMilliseconds(10) || ReplayInterval > TimeSpan.FromHours(1))
            yield return new ValidationResult("LogStream:Hints:ReplayInterval must be between 00:00:00.010 and 01:00:00.", [nameof(ReplayInterval)]);
    }
}
