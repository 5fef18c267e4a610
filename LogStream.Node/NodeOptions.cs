using System.ComponentModel.DataAnnotations;

namespace LogStream.Node;

/// <summary>Who this node is and where it keeps its data. Section <c>LogStream</c>.</summary>
public sealed class NodeOptions
{
    public const string SectionName = "LogStream";

    /// <summary>Stable identity of the node (DNS-label style, e.g. <c>node-0</c>). Its ring tokens derive from it.</summary>
    [Required(ErrorMessage = "LogStream:NodeId is required (e.g. --LogStream:NodeId=node-0).")]
    [RegularExpression("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        ErrorMessage = "LogStream:NodeId must be a DNS label: lower-case letters, digits and '-', 1-63 characters, e.g. node-0.")]
    public string NodeId { get; set; } = "";

    /// <summary>Name of the cluster; nodes with the same name and Redis form one cluster.</summary>
    [Required(ErrorMessage = "LogStream:ClusterName must not be empty.")]
    [RegularExpression("^[a-z0-9][a-z0-9-_.]{0,62}$",
        ErrorMessage = "LogStream:ClusterName must be 1-63 characters of lower-case letters, digits, '-', '_' or '.'.")]
    public string ClusterName { get; set; } = "logstream";

    /// <summary>Failure domain (rack / availability zone). Empty when unknown.</summary>
    [RegularExpression("^$|^[A-Za-z0-9][A-Za-z0-9-_.]{0,62}$",
        ErrorMessage = "LogStream:Zone must be 1-63 characters of letters, digits, '-', '_' or '.'.")]
    public string? Zone { get; set; }

    private const string DataDirectoryRequired = "LogStream:DataDirectory is required (e.g. --LogStream:DataDirectory=/var/lib/logstream).";

    /// <summary>Directory that holds this node's segments, hints and remembered ring.</summary>
    [Required(ErrorMessage = DataDirectoryRequired)]
    public string DataDirectory { get; set; } = "";

    /// <summary>A component's folder under <see cref="DataDirectory"/> (<c>segments</c>, <c>hints</c>, …).</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">No data directory is configured.</exception>
    public string DataFolder(string name) =>
        string.IsNullOrWhiteSpace(DataDirectory)
            ? throw new Microsoft.Extensions.Options.OptionsValidationException(nameof(DataDirectory), typeof(NodeOptions), [DataDirectoryRequired])
            : Path.Combine(DataDirectory, name);

    /// <summary>
    /// Public base URL other members and the dashboard use to reach this node's HTTP API. When empty the
    /// node advertises its first listening address (with a wildcard host replaced by the machine name).
    /// </summary>
    [Url(ErrorMessage = "LogStream:AdvertiseAddress must be an absolute http(s) URL, e.g. http://node-0.logstream:5100.")]
    public string? AdvertiseAddress { get; set; }

    /// <summary>
    /// Internal (replica, gRPC) base URL peers use. When empty: the public address's host with the port of the
    /// Kestrel endpoint <c>Internal</c>.
    /// </summary>
    [Url(ErrorMessage = "LogStream:AdvertiseInternalAddress must be an absolute http URL, e.g. http://node-0.logstream:5300.")]
    public string? AdvertiseInternalAddress { get; set; }
}
