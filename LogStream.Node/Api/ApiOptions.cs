using System.ComponentModel.DataAnnotations;

namespace LogStream.Node.Api;

/// <summary>Limits of the public API. Section <c>LogStream:Api</c>.</summary>
public sealed class ApiOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Api";

    /// <summary>Largest request body of <c>POST /api/logs</c>; larger gets 413. Default 32 MiB.</summary>
    [Range(1024, 1024L * 1024 * 1024, ErrorMessage = "LogStream:Api:MaxBodyBytes must be between 1 KiB and 1 GiB.")]
    public long MaxBodyBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Most records in one batch; more gets 413. Default 10 000.</summary>
    [Range(1, 1_000_000, ErrorMessage = "LogStream:Api:MaxBatchRecords must be between 1 and 1000000.")]
    public int MaxBatchRecords { get; set; } = 10_000;

    /// <summary>Longest message, in UTF-8 bytes. Default 64 KiB.</summary>
    [Range(1, 16 * 1024 * 1024, ErrorMessage = "LogStream:Api:MaxMessageBytes must be between 1 and 16 MiB.")]
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Most attributes on one record. Default 64.</summary>
    [Range(0, 4096, ErrorMessage = "LogStream:Api:MaxAttributes must be between 0 and 4096.")]
    public int MaxAttributes { get; set; } = 64;

    /// <summary>Longest attribute value, in UTF-8 bytes. Default 4 KiB.</summary>
    [Range(1, 1024 * 1024, ErrorMessage = "LogStream:Api:MaxAttributeValueBytes must be between 1 and 1 MiB.")]
    public int MaxAttributeValueBytes { get; set; } = 4096;

    /// <summary>How far in the future a timestamp may be (a client's clock running ahead). Default 1 day.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Records a query returns when it names no limit. Default 100.</summary>
    [Range(1, 1_000_000, ErrorMessage = "LogStream:Api:DefaultLimit must be between 1 and 1000000.")]
    public int DefaultLimit { get; set; } = 100;

    /// <summary>Largest limit a query may ask for. Default 10 000.</summary>
    [Range(1, 1_000_000, ErrorMessage = "LogStream:Api:MaxLimit must be between 1 and 1000000.")]
    public int MaxLimit { get; set; } = 10_000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxFutureSkew < TimeSpan.Zero)
            yield return new ValidationResult("LogStream:Api:MaxFutureSkew must not be negative.", [nameof(MaxFutureSkew)]);
        if (DefaultLimit > MaxLimit)
            yield return new ValidationResult("LogStream:Api:DefaultLimit must not exceed MaxLimit.", [nameof(DefaultLimit)]);
    }
}
