using System.ComponentModel.DataAnnotations;

namespace LogStream.Node;

/// <summary>Secrets. Section <c>LogStream:Security</c>; in Kubernetes they come from a Secret.</summary>
public sealed class SecurityOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Security";

    /// <summary>Shared by every node of the cluster; every internal (replica) call carries it and is refused without it.</summary>
    public string ClusterSecret { get; set; } = "";

    /// <summary>When any is set, the public <c>/api/*</c> routes need one of them (header <c>X-Api-Key</c> or <c>Authorization: Bearer</c>).</summary>
    public string[] ApiKeys { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ClusterSecret))
            yield return new ValidationResult(
                "LogStream:Security:ClusterSecret is required: a shared secret of at least 16 characters that every node of the cluster has (e.g. --LogStream:Security:ClusterSecret=$(openssl rand -hex 32)).",
                [nameof(ClusterSecret)]);
        else if (ClusterSecret.Length < 16)
            yield return new ValidationResult("LogStream:Security:ClusterSecret must be at least 16 characters.", [nameof(ClusterSecret)]);
        for (var i = 0; i < ApiKeys.Length; i++)
        {
            if (ApiKeys[i] is null || ApiKeys[i].Length < 16)
                yield return new ValidationResult($"LogStream:Security:ApiKeys:{i} must be at least 16 characters.", [nameof(ApiKeys)]);
        }
    }
}
