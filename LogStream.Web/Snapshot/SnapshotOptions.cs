using System.ComponentModel.DataAnnotations;

namespace LogStream.Web.Snapshot;

/// <summary>How often the dashboard refreshes its picture of the cluster. Section <c>LogStream:Snapshot</c>.</summary>
public sealed class SnapshotOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Snapshot";

    /// <summary>Period of the background refresh (and so of <c>last_update</c>). Default 1 s.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Window over which the ingest rate is computed. Default 10 s.</summary>
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the ERROR count (a cluster query) is taken. Default 5 s.</summary>
    public TimeSpan ErrorCountInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How far back the ERROR count looks. Default 1 h.</summary>
    public TimeSpan ErrorCountWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Upper bound of the ERROR count (the query's limit). Default 10 000, the node's default maximum.</summary>
    [Range(1, 1_000_000, ErrorMessage = "LogStream:Snapshot:ErrorCountLimit must be between 1 and 1000000.")]
    public int ErrorCountLimit { get; set; } = 10_000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RefreshInterval < TimeSpan.FromMilliseconds(100) || RefreshInterval > TimeSpan.FromMinutes(1))
            yield return new ValidationResult("LogStream:Snapshot:RefreshInterval must be between 00:00:00.1 and 00:01:00.", [nameof(RefreshInterval)]);
        if (RateWindow < RefreshInterval)
            yield return new ValidationResult("LogStream:Snapshot:RateWindow must be at least the refresh interval.", [nameof(RateWindow)]);
        if (ErrorCountInterval < RefreshInterval)
            yield return new ValidationResult("LogStream:Snapshot:ErrorCountInterval must be at least the refresh interval.", [nameof(ErrorCountInterval)]);
        if (ErrorCountWindow <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:Snapshot:ErrorCountWindow must be positive.", [nameof(ErrorCountWindow)]);
    }
}
