using System.Net;
using System.Text.RegularExpressions;
using LogStream.Web.Cluster;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace LogStream.Web.Tests;

/// <summary>
/// The whole web app (its real <c>Program</c>, middleware and pages) in memory, talking to a <see cref="FakeCluster"/>
/// instead of the network. Settings are the app's configuration keys, as an operator would set them.
/// </summary>
public sealed partial class DashboardHost(FakeCluster cluster, IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Program>
{
    /// <summary>The dashboard's own origin as the in-memory client addresses it.</summary>
    public const string Origin = "http://localhost";

    public const string EvilOrigin = "http://evil.example";

    public FakeCluster Cluster => cluster;

    public static DashboardHost Start(FakeCluster cluster, params (string Key, string? Value)[] settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["LogStream:Seeds:0"] = "http://node-0",
            // No telemetry export and quiet logs in tests.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
            all[key] = value;
        return new DashboardHost(cluster, all);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in settings)
            builder.UseSetting(key, value);
        builder.ConfigureTestServices(services =>
            services.AddHttpClient(ClusterClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => new ToFakeCluster(cluster)));
    }

    /// <summary>A client that keeps cookies (as a browser does) and does not follow redirects.</summary>
    public HttpClient Browser() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>A client without cookies, like <c>curl</c> in a script.</summary>
    public HttpClient Script() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

    /// <summary>Opens the page as a browser does and returns the request token it carries for the page's script.</summary>
    public static async Task<string> OpenPageAsync(HttpClient browser)
    {
        using var page = await browser.SendAsync(Navigation(HttpMethod.Get, "/"));
        var html = await page.Content.ReadAsStringAsync();
        Assert.True(page.StatusCode == HttpStatusCode.OK, $"GET / answered {(int)page.StatusCode}: {html}");
        var token = TokenMeta().Match(html);
        Assert.True(token.Success, "the page carries a request token for its script (<meta name=\"csrf-token\" …>)");
        return WebUtility.HtmlDecode(token.Groups["token"].Value);
    }

    /// <summary>A top-level navigation, with the headers Chromium sends.</summary>
    public static HttpRequestMessage Navigation(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Sec-Fetch-Site", "none");
        request.Headers.Add("Sec-Fetch-Mode", "navigate");
        request.Headers.Add("Sec-Fetch-Dest", "document");
        return request;
    }

    /// <summary>A <c>fetch()</c> from the dashboard's own page, with the headers Chromium sends, and the page's token when given.</summary>
    public static HttpRequestMessage SameOrigin(HttpMethod method, string path, string? token = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (method != HttpMethod.Get)
            request.Headers.Add("Origin", Origin);
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        request.Headers.Add("Sec-Fetch-Mode", "cors");
        request.Headers.Add("Sec-Fetch-Dest", "empty");
        if (token is not null)
            request.Headers.Add("X-CSRF-TOKEN", token);
        return request;
    }

    /// <summary>What a page on another site can make a browser send: a form post or a no-cors fetch, no token.</summary>
    public static HttpRequestMessage CrossSite(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Origin", EvilOrigin);
        request.Headers.Add("Sec-Fetch-Site", "cross-site");
        request.Headers.Add("Sec-Fetch-Mode", method == HttpMethod.Get ? "cors" : "navigate");
        if (method != HttpMethod.Get)
            request.Content = new FormUrlEncodedContent([new("fraction", "1")]);
        return request;
    }

    [GeneratedRegex("<meta name=\"csrf-token\" content=\"(?<token>[^\"]+)\"")]
    private static partial Regex TokenMeta();

    /// <summary>Hands each call to the fake cluster without letting the client factory dispose it when it recycles handlers.</summary>
    private sealed class ToFakeCluster(FakeCluster cluster) : HttpMessageHandler
    {
        private readonly HttpMessageInvoker _invoker = new(cluster, disposeHandler: false);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            _invoker.SendAsync(request, cancellationToken);
    }
}
