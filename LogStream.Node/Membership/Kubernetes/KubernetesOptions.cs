using System.ComponentModel.DataAnnotations;

namespace LogStream.Node.Membership.Kubernetes;

/// <summary>
/// How a node running in a Kubernetes pod finds its zone. Section <c>LogStream:Kubernetes</c>.
/// A configured <c>LogStream:Zone</c> always wins over the lookup.
/// </summary>
public sealed class KubernetesOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Kubernetes";

    /// <summary>Where the kubelet mounts the pod's service-account token, CA and namespace.</summary>
    public const string DefaultServiceAccountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>
    /// Read the pod and its Kubernetes node through the API and use the node's
    /// <c>topology.kubernetes.io/zone</c> label as the zone. Default true; only acts inside a pod.
    /// </summary>
    public bool ZoneLookup { get; set; } = true;

    /// <summary>This pod's name. Empty: <c>POD_NAME</c> (downward API), then <c>HOSTNAME</c>.</summary>
    [RegularExpression("^$|^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$",
        ErrorMessage = "LogStream:Kubernetes:PodName must be a Kubernetes object name (lower-case letters, digits, '-' and '.').")]
    public string? PodName { get; set; }

    /// <summary>This pod's namespace. Empty: <c>POD_NAMESPACE</c> (downward API), then the service account's namespace file.</summary>
    [RegularExpression("^$|^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        ErrorMessage = "LogStream:Kubernetes:PodNamespace must be a DNS label (lower-case letters, digits and '-').")]
    public string? PodNamespace { get; set; }

    /// <summary>Folder holding <c>token</c>, <c>ca.crt</c> and <c>namespace</c>. Default <see cref="DefaultServiceAccountPath"/>.</summary>
    [Required(ErrorMessage = "LogStream:Kubernetes:ServiceAccountPath must not be empty.")]
    public string ServiceAccountPath { get; set; } = DefaultServiceAccountPath;

    /// <summary>Upper bound of the whole lookup (both API calls). Default 5 s; the node starts without a zone past it.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(2))
            yield return new ValidationResult(
                "LogStream:Kubernetes:Timeout must be positive and at most 00:02:00 (e.g. 00:00:05).", [nameof(Timeout)]);
        if (!string.IsNullOrEmpty(ServiceAccountPath) && !Path.IsPathRooted(ServiceAccountPath))
            yield return new ValidationResult(
                $"LogStream:Kubernetes:ServiceAccountPath must be an absolute path (e.g. {DefaultServiceAccountPath}).", [nameof(ServiceAccountPath)]);
    }
}
