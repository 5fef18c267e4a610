using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace LogStream.Web.Cluster;

/// <summary>A node's answer to a call the dashboard made: status code and JSON body, or why there was none.</summary>
/// <param name="Status">HTTP status; 0 when the node did not answer.</param>
public sealed record NodeAnswer(string Node, int Status, JsonElement? Body, string? Error)
{
    public bool Succeeded => Status is >= 200 and < 300 && Error is null;
}

/// <summary>Calls one node's public API at a known address: <c>/api/node</c>, writes, queries, repair and chaos.</summary>
public sealed class NodeClient(IHttpClientFactory httpClientFactory, IOptions<DashboardOptions> options)
{
    /// <summary>The node's own figures and its (partition, bucket) Merkle roots, within the node timeout.</summary>
    public async Task<NodeInfo> GetNodeAsync(string baseUrl, CancellationToken cancellationToken)
    {
        var http = httpClientFactory.CreateClient(ClusterClient.HttpClientName);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.NodeTimeout);
        try
        {
            using var response = await http.GetAsync(new Uri(new Uri(baseUrl), "/api/node"), timeout.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
                throw new NodeUnavailableException("GET /api/node answered 404 (this node version has no /api/node)");
            if (!response.IsSuccessStatusCode)
                throw new NodeUnavailableException($"GET /api/node answered {(int)response.StatusCode}");
            return await response.Content.ReadFromJsonAsync<NodeInfo>(ClusterClient.Json, timeout.Token)
                   ?? throw new NodeUnavailableException("GET /api/node answered an empty body");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NodeUnavailableException($"no answer within {options.Value.NodeTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or NotSupportedException)
        {
            throw new NodeUnavailableException(ex.Message, ex);
        }
    }

    public Task<NodeAnswer> GetAsync(string node, string baseUrl, string pathAndQuery, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(node, HttpMethod.Get, baseUrl, pathAndQuery, null, timeout, cancellationToken);

    public Task<NodeAnswer> PostAsync(string node, string baseUrl, string pathAndQuery, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(node, HttpMethod.Post, baseUrl, pathAndQuery, null, timeout, cancellationToken);

    public Task<NodeAnswer> PostJsonAsync(string node, string baseUrl, string pathAndQuery, string json, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(node, HttpMethod.Post, baseUrl, pathAndQuery, new StringContent(json, Encoding.UTF8, "application/json"), timeout, cancellationToken);

    private async Task<NodeAnswer> SendAsync(string node, HttpMethod method, string baseUrl, string pathAndQuery, HttpContent? content,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var http = httpClientFactory.CreateClient(ClusterClient.HttpClientName);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(new Uri(baseUrl), pathAndQuery)) { Content = content };
            using var response = await http.SendAsync(request, cts.Token);
            var text = await response.Content.ReadAsStringAsync(cts.Token);
            JsonElement? body = null;
            if (text.Length > 0)
            {
                try
                {
                    body = JsonDocument.Parse(text).RootElement.Clone();
                }
                catch (JsonException)
                {
                    // Not JSON (a 404 from an older node, a proxy page): keep the status, quote the start of the text.
                    return new NodeAnswer(node, (int)response.StatusCode, null, $"{method} {pathAndQuery} answered {(int)response.StatusCode}: {Truncate(text)}");
                }
            }
            var error = response.IsSuccessStatusCode ? null : $"{method} {pathAndQuery} answered {(int)response.StatusCode}{Detail(body)}";
            return new NodeAnswer(node, (int)response.StatusCode, body, error);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new NodeAnswer(node, 0, null, $"{method} {pathAndQuery}: no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return new NodeAnswer(node, 0, null, $"{method} {pathAndQuery}: {ex.Message}");
        }
    }

    private static string Detail(JsonElement? body) =>
        body is { ValueKind: JsonValueKind.Object } b && b.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String
            ? $": {detail.GetString()}"
            : "";

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}

/// <summary>A node did not give the dashboard what it asked for; the message says why.</summary>
public sealed class NodeUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
