using System.ComponentModel.DataAnnotations;

namespace LogStream.Node.Repair;

/// <summary>Anti-entropy. Section <c>LogStream:Repair</c>.</summary>
public sealed class RepairOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Repair";

    /// <summary>Whether the background rounds run (<c>POST /api/repair</c> works either way). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between two rounds. Default 10 s: short enough for the demo; production clusters may use minutes.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Each wait is the interval ± this fraction, so nodes do not all repair at once. Default 0.2.</summary>
    [Range(0.0, 0.9, ErrorMessage = "LogStream:Repair:Jitter must be between 0 and 0.9.")]
    public double Jitter { get; set; } = 0.2;

    /// <summary>
    /// Background rounds leave alone a bucket written to more recently than this: its replicas are still receiving
    /// the same writes (hinted handoff and read repair cover fresh data), and comparing a moving target only costs.
    /// A round asked for through <c>POST /api/repair</c> repairs such buckets too. Default 2 s.
    /// </summary>
    public TimeSpan QuietPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A differing tree node with at most this many records on each side is settled by exchanging its ids. Default 4.</summary>
    [Range(1, 100_000, ErrorMessage = "LogStream:Repair:LeafRecords must be between 1 and 100000.")]
    public int LeafRecords { get; set; } = 4;

    /// <summary>Buckets repaired at once with one peer. Default 2.</summary>
    [Range(1, 64, ErrorMessage = "LogStream:Repair:MaxConcurrentBuckets must be between 1 and 64.")]
    public int MaxConcurrentBuckets { get; set; } = 2;

    /// <summary>Bandwidth limit: records shipped per second, both directions together, so repair never starves ingest. Default 50 000.</summary>
    [Range(1, 10_000_000, ErrorMessage = "LogStream:Repair:MaxRecordsPerSecond must be between 1 and 10000000.")]
    public int MaxRecordsPerSecond { get; set; } = 50_000;

    /// <summary>
    /// How many nice levels below the node's other threads the threads doing repair's CPU work run (Linux; elsewhere
    /// they run below normal priority), 0 to 19; 0 runs them at normal priority. Default 10: on a busy node a repair
    /// thread weighs about a tenth of an ingest thread, so repair takes what ingest leaves; on an idle node it runs at
    /// full speed.
    /// </summary>
    [Range(0, 19, ErrorMessage = "LogStream:Repair:Nice must be between 0 and 19.")]
    public int Nice { get; set; } = 10;

    /// <summary>Records per shipment call. Default 1000.</summary>
    [Range(1, 100_000, ErrorMessage = "LogStream:Repair:BatchRecords must be between 1 and 100000.")]
    public int BatchRecords { get; set; } = 1000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (QuietPeriod < TimeSpan.Zero)
            yield return new ValidationResult("LogStream:Repair:QuietPeriod must not be negative.", [nameof(QuietPeriod)]);
        if (Interval < TimeSpan.FromMilliseconds(100))
            yield return new ValidationResult("LogStream:Repair:Interval must be at least 100 ms.", [nameof(Interval)]);
    }
}

/// <summary>The chaos actions (DESIGN §9). Section <c>LogStream:Chaos</c>.</summary>
public sealed class ChaosOptions
{
    public const string SectionName = "LogStream:Chaos";

    /// <summary>Lets <c>POST /api/chaos/lose</c> really delete local data. Off by default; on in the local app host.</summary>
    public bool Enabled { get; set; }
}
