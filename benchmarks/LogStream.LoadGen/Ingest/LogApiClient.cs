using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using LogStream.LoadGen.Options;

namespace LogStream.LoadGen.Ingest;

/// <summary>The outcome of one HTTP exchange: a status, or why there was none.</summary>
public readonly record struct ExchangeResult(bool Success, int Status, string? ErrorKey, byte[]? Body)
{
    /// <summary>Whether trying again may help (408, 429, 5xx, transport errors and timeouts; never 4xx validation errors).</summary>
    public bool Transient => !Success && (Status is 0 or 408 or 429 || Status >= 500);
}

/// <summary>
/// One <see cref="SocketsHttpHandler"/> for the whole run: HTTP/1.1 keep-alive, enough connections per node for
/// every request in flight, no cookies, proxies, redirects or decompression. Requests go to the nodes round-robin.
/// </summary>
public sealed class LogApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri[] _writeUris;
    private readonly MediaTypeHeaderValue _contentType;
    private long _roundRobin = -1;

    public LogApiClient(IReadOnlyList<Uri> nodes, int connectionsPerNode, TimeSpan timeout, Consistency writeConsistency, PayloadFormat format)
    {
        Nodes = nodes;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(1, connectionsPerNode),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        _http = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = timeout,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        _writeUris = nodes.Select(n => new Uri(n, $"api/logs?consistency={writeConsistency.ToWire()}")).ToArray();
        _contentType = new MediaTypeHeaderValue(format.ContentType());
    }

    public IReadOnlyList<Uri> Nodes { get; }

    /// <summary>The next coordinator in round-robin order.</summary>
    public int NextNode() => (int)((ulong)Interlocked.Increment(ref _roundRobin) % (ulong)Nodes.Count);

    /// <summary>POSTs a prepared body to <c>/api/logs</c> of a node.</summary>
    public async Task<ExchangeResult> PostAsync(int node, byte[] payload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _writeUris[node]);
        request.Content = new ByteArrayContent(payload);
        request.Content.Headers.ContentType = _contentType;
        return await SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GETs a path-and-query (relative, e.g. <c>api/logs?level=ERROR</c>) from a node.</summary>
    public async Task<ExchangeResult> GetAsync(int node, string relative, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Nodes[node], relative));
        return await SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ExchangeResult> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? new ExchangeResult(true, status, null, body)
                : new ExchangeResult(false, status, status.ToString(System.Globalization.CultureInfo.InvariantCulture), body);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new ExchangeResult(false, 0, "cancelled", null);
        }
        catch (OperationCanceledException)
        {
            // HttpClient.Timeout expired (the caller's token was not cancelled).
            return new ExchangeResult(false, 0, "timeout", null);
        }
        catch (HttpRequestException e)
        {
            return new ExchangeResult(false, 0, ClassifyTransportError(e), null);
        }
    }

    internal static string ClassifyTransportError(HttpRequestException e)
    {
        if (e.InnerException is SocketException socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection_refused",
                SocketError.ConnectionReset => "connection_reset",
                SocketError.TimedOut => "connect_timeout",
                SocketError.HostNotFound or SocketError.NoData => "host_not_found",
                _ => "socket_" + socket.SocketErrorCode.ToString().ToLowerInvariant(),
            };
        }

        return e.HttpRequestError switch
        {
            HttpRequestError.ConnectionError => "connection_error",
            HttpRequestError.NameResolutionError => "host_not_found",
            HttpRequestError.ResponseEnded => "response_ended",
            HttpRequestError.InvalidResponse => "invalid_response",
            HttpRequestError.SecureConnectionError => "tls_error",
            _ => "http_error",
        };
    }

    /// <summary>The <c>accepted</c> count of a write reply, if the body has one at the top level.</summary>
    internal static int? ReadAccepted(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isAccepted = reader.ValueTextEquals("accepted"u8);
                reader.Read();
                if (isAccepted)
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var accepted) ? accepted : null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    public void Dispose() => _http.Dispose();
}
