using System.ComponentModel.DataAnnotations;

namespace LogStream.Web;

/// <summary>How the dashboard finds the cluster. Section <c>LogStream</c>.</summary>
public sealed class DashboardOptions : IValidatableObject
{
    public const string SectionName = "LogStream";

    /// <summary>
    /// Node URLs to ask first (service-discovery names such as <c>http://node-0</c> under Aspire, the client
    /// Service in Kubernetes). The dashboard then also talks to every member at its advertised address.
    /// </summary>
    public string[] Seeds { get; set; } = [];

    /// <summary>The API key the dashboard sends to the nodes when they require one (<c>LogStream:ApiKey</c>).</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long one call to a node may take before the next seed is tried.</summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a cluster query (the ERROR panel, the ERROR count) may take on one node.</summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a write of a demo batch may take.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one node's anti-entropy round (Repair now) may take.</summary>
    public TimeSpan RepairTimeout { get; set; } = TimeSpan.FromSeconds(60);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Seeds.Length == 0)
            yield return new ValidationResult("LogStream:Seeds must list at least one node URL (e.g. LogStream:Seeds:0=http://localhost:5100).", [nameof(Seeds)]);
        for (var i = 0; i < Seeds.Length; i++)
        {
            if (!Uri.TryCreate(Seeds[i], UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                yield return new ValidationResult($"LogStream:Seeds:{i} must be an absolute http(s) URL, not '{Seeds[i]}'.", [nameof(Seeds)]);
        }
        if (NodeTimeout <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:NodeTimeout must be positive.", [nameof(NodeTimeout)]);
        if (QueryTimeout <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:QueryTimeout must be positive.", [nameof(QueryTimeout)]);
        if (WriteTimeout <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:WriteTimeout must be positive.", [nameof(WriteTimeout)]);
        if (RepairTimeout <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:RepairTimeout must be positive.", [nameof(RepairTimeout)]);
    }
}
