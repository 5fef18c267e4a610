using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace LogStream.Web.Cluster;

/// <summary>
/// Asks the cluster about itself: the configured seeds first, then every member last seen, until one answers.
/// Any node can answer for the whole cluster; a down node only costs one short timeout.
/// </summary>
public sealed partial class ClusterClient(
    IHttpClientFactory httpClientFactory,
    IOptions<DashboardOptions> options,
    TimeProvider timeProvider,
    ILogger<ClusterClient> logger)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public const string HttpClientName = "cluster";

    private string[] _lastKnownAddresses = [];

    /// <summary>The cluster view of the first node that answers; <paramref name="tokens"/> adds every member's ring tokens.</summary>
    public async Task<ClusterReport> GetClusterAsync(CancellationToken cancellationToken, bool tokens = false)
    {
        var errors = new List<string>();
        var http = httpClientFactory.CreateClient(HttpClientName);
        foreach (var baseUrl in Candidates())
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.NodeTimeout);
            try
            {
                var cluster = await http.GetFromJsonAsync<ClusterInfo>(
                    new Uri(new Uri(baseUrl), tokens ? "/api/cluster?tokens=true" : "/api/cluster?tokens=false"), Json, timeout.Token);
                if (cluster is null)
                    throw new JsonException("empty answer");
                _lastKnownAddresses = cluster.Members.Select(m => m.Address).ToArray();
                return new ClusterReport(cluster, baseUrl, errors, timeProvider.GetUtcNow());
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or OperationCanceledException or NotSupportedException
                                       && !cancellationToken.IsCancellationRequested)
            {
                var reason = ex is OperationCanceledException ? $"no answer within {options.Value.NodeTimeout.TotalSeconds:0.#} s" : ex.Message;
                errors.Add($"{baseUrl}: {reason}");
                LogNodeUnreachable(baseUrl, reason);
            }
        }
        return new ClusterReport(null, null, errors, timeProvider.GetUtcNow());
    }

    /// <summary>Seeds first, then every member at its advertised address.</summary>
    public IEnumerable<string> Candidates() =>
        options.Value.Seeds.Concat(_lastKnownAddresses).Distinct(StringComparer.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Node {Url} did not answer: {Reason}")]
    private partial void LogNodeUnreachable(string url, string reason);
}
