using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Options;
using KubernetesApi = k8s.Kubernetes;

namespace LogStream.Node.Membership.Kubernetes;

/// <summary>
/// The zone of the Kubernetes node this pod runs on: reads the pod (for <c>spec.nodeName</c>), then that node's
/// <c>topology.kubernetes.io/zone</c> label (or the deprecated <c>failure-domain.beta.kubernetes.io/zone</c>).
/// The downward API cannot expose node labels, hence the API calls and the RBAC they need
/// (get pods in the own namespace, get nodes). A configured <c>LogStream:Zone</c> wins and makes no call.
/// Never fails the node: on denial, timeout or any error it logs why and answers "no zone".
/// </summary>
public sealed partial class KubernetesZoneResolver(
    IOptions<NodeOptions> nodeOptions,
    IOptions<KubernetesOptions> options,
    IConfiguration configuration,
    TimeProvider timeProvider,
    ILogger<KubernetesZoneResolver> logger) : IZoneResolver
{
    public const string ZoneLabel = "topology.kubernetes.io/zone";
    public const string LegacyZoneLabel = "failure-domain.beta.kubernetes.io/zone";

    private static readonly string[] ZoneLabels = [ZoneLabel, LegacyZoneLabel];

    // Same rule as NodeOptions.Zone (a Kubernetes label value always satisfies it).
    private static readonly Regex ValidZone = new("^[A-Za-z0-9][A-Za-z0-9-_.]{0,62}$", RegexOptions.CultureInvariant);

    private Lazy<Task<string?>>? _lookup;

    public ValueTask<string?> ResolveZoneAsync(CancellationToken cancellationToken)
    {
        var configured = nodeOptions.Value.Zone;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            LogConfiguredZoneWins(configured);
            return ValueTask.FromResult<string?>(configured);
        }

        // One lookup per process, bounded by its own timeout: a caller that gives up early (the membership
        // agent bounds each tick) awaits the same lookup again on its next try instead of starting another.
        var lookup = LazyInitializer.EnsureInitialized(ref _lookup, () => new Lazy<Task<string?>>(LookUpAsync));
        return new ValueTask<string?>(lookup.Value.WaitAsync(cancellationToken));
    }

    private async Task<string?> LookUpAsync()
    {
        var settings = options.Value;
        if (!settings.ZoneLookup)
        {
            LogLookupNotPossible("LogStream:Kubernetes:ZoneLookup is false");
            return null;
        }

        var config = InClusterConnection.TryCreate(configuration, settings, out var reason);
        if (config is null)
        {
            LogLookupNotPossible(reason!);
            return null;
        }

        var podName = FirstNonEmpty(settings.PodName, configuration["POD_NAME"], configuration["HOSTNAME"]);
        var podNamespace = FirstNonEmpty(settings.PodNamespace, configuration["POD_NAMESPACE"], config.Namespace);
        if (podName is null || podNamespace is null)
        {
            LogLookupNotPossible("the pod's name or namespace is unknown (set POD_NAME and POD_NAMESPACE from the downward API)");
            return null;
        }

        using var timeout = new CancellationTokenSource(settings.Timeout, timeProvider);
        var resource = $"pod {podNamespace}/{podName}";
        try
        {
            using var client = new KubernetesApi(config);
            var pod = await client.CoreV1.ReadNamespacedPodAsync(podName, podNamespace, cancellationToken: timeout.Token)
                .ConfigureAwait(false);
            var nodeName = pod.Spec?.NodeName;
            if (string.IsNullOrEmpty(nodeName))
            {
                LogLookupNotPossible($"{resource} has no spec.nodeName (not scheduled yet?)");
                return null;
            }

            resource = $"node {nodeName}";
            var node = await client.CoreV1.ReadNodeAsync(nodeName, cancellationToken: timeout.Token).ConfigureAwait(false);
            var labels = node.Metadata?.Labels ?? new Dictionary<string, string>();
            foreach (var label in ZoneLabels)
            {
                if (!labels.TryGetValue(label, out var zone) || string.IsNullOrWhiteSpace(zone))
                    continue;
                if (!ValidZone.IsMatch(zone))
                {
                    LogInvalidZone(zone, label, nodeName);
                    return null;
                }

                LogZoneFound(zone, label, nodeName, podNamespace, podName);
                return zone;
            }

            LogNoZoneLabel(nodeName, ZoneLabel, LegacyZoneLabel);
            return null;
        }
        catch (Exception) when (timeout.IsCancellationRequested)
        {
            // Whatever the client threw once the deadline passed (cancellation, a torn connection) means "too slow".
            LogLookupTimedOut(settings.Timeout, resource);
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            var status = ex.Response.StatusCode;
            LogLookupRefused((int)status, status, resource, ApiMessage(ex),
                status == HttpStatusCode.Forbidden
                    ? "grant the pod's service account get on pods in its namespace and get on nodes (the chart's Role and ClusterRole do), or set LogStream:Zone"
                    : "the service-account token was not accepted; check automountServiceAccountToken and the token's audience, or set LogStream:Zone");
        }
        catch (HttpOperationException ex)
        {
            LogLookupFailed(ex, resource, $"HTTP {(int?)ex.Response?.StatusCode}: {ApiMessage(ex)}");
        }
        catch (Exception ex)
        {
            LogLookupFailed(ex, resource, ex.Message);
        }

        return null;
    }

    private static string? FirstNonEmpty(params string?[] values) =>
        values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))?.Trim();

    /// <summary>The API server's own words from a <c>Status</c> body (e.g. "nodes "x" is forbidden: User … cannot get …").</summary>
    private static string ApiMessage(HttpOperationException ex)
    {
        var content = ex.Response?.Content;
        if (string.IsNullOrWhiteSpace(content))
            return ex.Response?.ReasonPhrase ?? ex.Message;
        try
        {
            using var status = JsonDocument.Parse(content);
            if (status.RootElement.ValueKind == JsonValueKind.Object &&
                status.RootElement.TryGetProperty("message", out var message) &&
                message.ValueKind == JsonValueKind.String)
                return message.GetString()!;
        }
        catch (JsonException)
        {
        }

        return content.Length <= 300 ? content : content[..300];
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Zone {Zone} from label {Label} of Kubernetes node {KubernetesNode} (pod {PodNamespace}/{PodName})")]
    private partial void LogZoneFound(string zone, string label, string kubernetesNode, string podNamespace, string podName);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Zone {Zone} from configuration (LogStream:Zone); the Kubernetes zone lookup is skipped")]
    private partial void LogConfiguredZoneWins(string zone);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "Zone lookup refused by the Kubernetes API (HTTP {StatusCode} {Status}) reading {Resource}: {ApiMessage}. " +
                  "The node starts with no zone (placement ignores zones for it); to fix: {Remedy}")]
    private partial void LogLookupRefused(int statusCode, HttpStatusCode status, string resource, string apiMessage, string remedy);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
        Message = "Zone lookup failed reading {Resource}: {Reason}. The node starts with no zone (placement ignores zones for it)")]
    private partial void LogLookupFailed(Exception ex, string resource, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning,
        Message = "Zone lookup timed out after {Timeout} reading {Resource} (LogStream:Kubernetes:Timeout). The node starts with no zone")]
    private partial void LogLookupTimedOut(TimeSpan timeout, string resource);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning,
        Message = "Zone lookup not possible: {Reason}. The node starts with no zone (set LogStream:Zone to give it one)")]
    private partial void LogLookupNotPossible(string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning,
        Message = "Kubernetes node {KubernetesNode} has neither label {ZoneLabel} nor {LegacyZoneLabel}. The node starts with no zone")]
    private partial void LogNoZoneLabel(string kubernetesNode, string zoneLabel, string legacyZoneLabel);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning,
        Message = "Label {Label}='{Zone}' of Kubernetes node {KubernetesNode} is not a valid zone name. The node starts with no zone")]
    private partial void LogInvalidZone(string zone, string label, string kubernetesNode);
}
