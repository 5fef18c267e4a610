using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LogStream.Web.Tests;

/// <summary>
/// The dashboard against a page on another site (issue 14): its actions need the page's request token and a same-origin
/// request, its reads refuse cross-site requests, an optional access key closes it entirely, and the nodes' API key stays
/// on the server.
/// </summary>
public sealed partial class DashboardSecurityTests : IDisposable
{
    private const string AccessKey = "dashboard-access-key-0123456789";
    private const string NodeApiKey = "node-api-key-SECRET-9f3c2a71";

    private readonly FakeCluster _cluster = new();
    private readonly List<DashboardHost> _hosts = [];

    public static TheoryData<string, string> Actions => new()
    {
        { "/api/demo/run", "form post from another site" },
        { "/api/repair", "form post from another site" },
        { "/api/chaos/lose?node=node-1&fraction=1", "form post from another site" },
        { "/api/demo/run", "older browser: Origin only" },
        { "/api/chaos/lose?node=node-1&fraction=1", "older browser: Origin only" },
        { "/api/demo/run", "script without token" },
        { "/api/repair", "script without token" },
        { "/api/chaos/lose?node=node-1&fraction=1", "script without token" },
    };

    private DashboardHost Start(params (string Key, string? Value)[] settings)
    {
        var host = DashboardHost.Start(_cluster, [("LogStream:Chaos:Enabled", "true"), .. settings]);
        _hosts.Add(host);
        return host;
    }

    public void Dispose()
    {
        foreach (var host in _hosts)
            host.Dispose();
    }

    [Theory]
    [MemberData(nameof(Actions))]
    public async Task AnActionRequestedFromAnotherSiteOrWithoutTheTokenIsRefusedAndReachesNoNode(string path, string how)
    {
        var host = Start();
        using var browser = host.Browser();
        // The victim has the dashboard open: whatever cookies it sets are in the jar.
        using (var page = await browser.SendAsync(DashboardHost.Navigation(HttpMethod.Get, "/")))
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        using var request = how switch
        {
            "form post from another site" => DashboardHost.CrossSite(HttpMethod.Post, path),
            "older browser: Origin only" => OriginOnly(path),
            _ => new HttpRequestMessage(HttpMethod.Post, path),
        };
        using var response = await (how == "script without token" ? host.Script() : browser).SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(_cluster.ActionCalls);
        Assert.All(_cluster.Nodes.Values, n => Assert.Equal(0, n.Lost + n.Ingested + n.RepairsCompleted));

        static HttpRequestMessage OriginOnly(string path)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, path);
            request.Headers.Add("Origin", DashboardHost.EvilOrigin);
            return request;
        }
    }

    [Fact]
    public async Task TheDashboardsOwnPageRunsEveryActionWithItsToken()
    {
        var host = Start();
        using var browser = host.Browser();
        var token = await DashboardHost.OpenPageAsync(browser);

        using (var demo = await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Post, "/api/demo/run", token)))
        {
            var body = await demo.Content.ReadAsStringAsync();
            Assert.True(demo.StatusCode == HttpStatusCode.OK, $"Run Demo answered {(int)demo.StatusCode}: {body}");
            Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("accepted").GetInt32() > 0);
        }
        using (var repair = await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Post, "/api/repair", token)))
            Assert.Equal(HttpStatusCode.OK, repair.StatusCode);
        using (var lose = await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Post, "/api/chaos/lose?node=node-1&fraction=0.5", token)))
            Assert.Equal(HttpStatusCode.OK, lose.StatusCode);

        Assert.Contains(_cluster.ActionCalls, c => c.StartsWith("POST ", StringComparison.Ordinal) && c.Contains("/api/logs", StringComparison.Ordinal));
        Assert.Contains(_cluster.ActionCalls, c => c.StartsWith("POST ", StringComparison.Ordinal) && c.Contains("/api/repair", StringComparison.Ordinal));
        Assert.Contains("POST node-1/api/chaos/lose?fraction=0.5", _cluster.ActionCalls);
    }

    [Fact]
    public async Task ATokenDoesNotHelpARequestThatComesFromAnotherSite()
    {
        var host = Start();
        using var browser = host.Browser();
        var token = await DashboardHost.OpenPageAsync(browser);
        using var request = DashboardHost.CrossSite(HttpMethod.Post, "/api/repair");
        request.Headers.Add("X-CSRF-TOKEN", token);

        using var response = await browser.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(_cluster.ActionCalls);
    }

    [Fact]
    public async Task TheErrorQueryCannotBeReadFromAnotherSite()
    {
        var host = Start();
        using var browser = host.Browser();

        using var crossSite = await browser.SendAsync(DashboardHost.CrossSite(HttpMethod.Get, "/api/errors?limit=10"));

        Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);
        Assert.False(crossSite.Headers.Contains("Access-Control-Allow-Origin"), "no CORS grant");
        Assert.DoesNotContain(_cluster.ActionCalls, c => c.Contains("/api/logs", StringComparison.Ordinal));

        using var sameOrigin = await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Get, "/api/errors?limit=10"));
        Assert.Equal(HttpStatusCode.OK, sameOrigin.StatusCode);
        Assert.Contains(_cluster.ActionCalls, c => c.Contains("/api/logs?min_level=ERROR", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/api/cluster")]
    [InlineData("/api/errors")]
    public async Task WithoutAnAccessKeyTheReadsStayOpenToTheLocalBrowserAndToScripts(string path)
    {
        var host = Start();
        using var script = host.Script();
        using var response = await script.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/api/cluster")]
    [InlineData("/api/ring")]
    [InlineData("/api/errors")]
    public async Task WithAnAccessKeyReadsWithoutItAreRefusedWith401(string path)
    {
        var host = Start(("LogStream:Dashboard:AccessKey", AccessKey));
        using var script = host.Script();

        using var response = await script.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(_cluster.ActionCalls, c => c.Contains("/api/logs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithAnAccessKeyThePageSendsTheBrowserToTheLoginForm()
    {
        var host = Start(("LogStream:Dashboard:AccessKey", AccessKey));
        using var browser = host.Browser();

        using var page = await browser.SendAsync(DashboardHost.Navigation(HttpMethod.Get, "/"));

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/login", page.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAnAccessKeyAnActionWithoutItIsRefusedAndReachesNoNode()
    {
        var host = Start(("LogStream:Dashboard:AccessKey", AccessKey));
        using var script = host.Script();

        using var response = await script.PostAsync("/api/demo/run", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_cluster.ActionCalls);
    }

    [Theory]
    [InlineData("Authorization")]
    [InlineData("X-Api-Key")]
    public async Task AScriptThatPresentsTheAccessKeyReadsAndActsWithoutAToken(string header)
    {
        var host = Start(("LogStream:Dashboard:AccessKey", AccessKey));
        using var script = host.Script();
        if (header == "Authorization")
            script.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AccessKey);
        else
            script.DefaultRequestHeaders.Add(header, AccessKey);

        using (var metrics = await script.GetAsync("/metrics"))
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        using (var errors = await script.GetAsync("/api/errors?limit=5"))
            Assert.Equal(HttpStatusCode.OK, errors.StatusCode);
        using (var demo = await script.PostAsync("/api/demo/run", null))
            Assert.Equal(HttpStatusCode.OK, demo.StatusCode);
        Assert.Contains(_cluster.ActionCalls, c => c.StartsWith("POST ", StringComparison.Ordinal) && c.Contains("/api/logs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWrongAccessKeyIsRefusedWith401()
    {
        var host = Start(("LogStream:Dashboard:AccessKey", AccessKey));
        using var script = host.Script();
        script.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AccessKey + "x");

        using var read = await script.GetAsync("/metrics");
        using var action = await script.PostAsync("/api/repair", null);

        Assert.Equal(HttpStatusCode.Unauthorized, read.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, action.StatusCode);
        Assert.Empty(_cluster.ActionCalls);
    }

    [Fact]
    public async Task LoggingInWithTheAccessKeySetsAStrictHttpOnlyCookieThatOpensThePageButNotCrossSiteActions()
    {
        var host = Start(("LogStream:Dashboard:AccessKey", AccessKey));
        using var browser = host.Browser();

        using var failed = await LogInAsync(browser, "not-the-access-key-at-all");
        Assert.Equal(HttpStatusCode.OK, failed.StatusCode);   // the form again, saying why
        Assert.DoesNotContain("not-the-access-key-at-all", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(failed.Headers.Contains("Set-Cookie") && failed.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith("LogStream.Dashboard=", StringComparison.Ordinal)));

        using var login = await LogInAsync(browser, AccessKey);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("LogStream.Dashboard=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(AccessKey, cookie, StringComparison.Ordinal);

        var token = await DashboardHost.OpenPageAsync(browser);
        using (var metrics = await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Get, "/metrics")))
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        using (var crossSite = await browser.SendAsync(DashboardHost.CrossSite(HttpMethod.Post, "/api/demo/run")))
            Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);
        Assert.Empty(_cluster.ActionCalls);
        using (var demo = await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Post, "/api/demo/run", token)))
            Assert.Equal(HttpStatusCode.OK, demo.StatusCode);
    }

    [Fact]
    public async Task ProbesStayOpenWhenAnAccessKeyIsSet()
    {
        var host = Start(("LogStream:Dashboard:AccessKey", AccessKey));
        using var script = host.Script();
        using var alive = await script.GetAsync("/alive");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public void AnAccessKeyShorterThan16CharactersStopsTheDashboardAtStartNamingTheKey()
    {
        var host = Start(("LogStream:Dashboard:AccessKey", "short"));
        var error = Assert.ThrowsAny<Exception>(() => host.Script().Dispose());
        Assert.Contains("LogStream:Dashboard:AccessKey", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheNodesApiKeyIsUsedServerSideAndNeverReachesTheBrowser()
    {
        _cluster.RequiredApiKey = NodeApiKey;
        var host = Start(("LogStream:ApiKey", NodeApiKey));
        using var browser = host.Browser();
        var served = new List<string>();

        async Task Keep(HttpResponseMessage response)
        {
            using (response)
                served.Add($"{(int)response.StatusCode} {response.Headers} {response.Content.Headers} {await response.Content.ReadAsStringAsync()}");
        }

        using (var page = await browser.SendAsync(DashboardHost.Navigation(HttpMethod.Get, "/")))
            served.Add(page.Headers + await page.Content.ReadAsStringAsync());
        var token = await DashboardHost.OpenPageAsync(browser);
        var html = await browser.GetStringAsync("/");
        foreach (var asset in AssetLinks().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups["url"].Value)))
            await Keep(await browser.GetAsync(asset));
        Assert.Contains(served, s => s.Contains("dashboard.js", StringComparison.Ordinal) || s.Contains("\"use strict\"", StringComparison.Ordinal));
        foreach (var read in new[] { "/metrics", "/api/cluster", "/api/ring", "/api/errors?limit=5" })
            await Keep(await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Get, read)));
        foreach (var action in new[] { "/api/demo/run", "/api/repair", "/api/chaos/lose?node=node-2&fraction=0.1" })
            await Keep(await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Post, action, token)));

        Assert.All(served, s => Assert.DoesNotContain(NodeApiKey, s, StringComparison.Ordinal));
        // The key did its job on the server side: the nodes accepted the demo's writes.
        Assert.True(_cluster.Nodes.Values.Sum(n => n.Ingested) > 0, "the nodes accepted writes carrying the dashboard's API key");
    }

    [Fact]
    public async Task ChaosIsOffUnlessConfigured()
    {
        var host = DashboardHost.Start(_cluster);
        _hosts.Add(host);
        using var browser = host.Browser();
        var token = await DashboardHost.OpenPageAsync(browser);
        var html = await browser.GetStringAsync("/");
        Assert.Contains("data-chaos=\"false\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("chaos-lose", html, StringComparison.Ordinal);

        using var lose = await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Post, "/api/chaos/lose?node=node-1", token));
        using var demo = await browser.SendAsync(DashboardHost.SameOrigin(HttpMethod.Post, "/api/demo/run", token));

        Assert.Equal(HttpStatusCode.NotFound, lose.StatusCode);
        Assert.Equal(HttpStatusCode.OK, demo.StatusCode);
        Assert.False(JsonDocument.Parse(await demo.Content.ReadAsStringAsync()).RootElement.GetProperty("chaos").GetProperty("enabled").GetBoolean());
        Assert.DoesNotContain(_cluster.ActionCalls, c => c.Contains("/api/chaos", StringComparison.Ordinal));
    }

    private static async Task<HttpResponseMessage> LogInAsync(HttpClient browser, string key)
    {
        using var form = await browser.SendAsync(DashboardHost.Navigation(HttpMethod.Get, "/login"));
        var html = await form.Content.ReadAsStringAsync();
        Assert.True(form.StatusCode == HttpStatusCode.OK, $"GET /login answered {(int)form.StatusCode}: {html}");
        var token = FormToken().Match(html);
        Assert.True(token.Success, "the login form carries an antiforgery token");
        var post = DashboardHost.Navigation(HttpMethod.Post, "/login");
        post.Headers.Remove("Sec-Fetch-Site");
        post.Headers.Add("Sec-Fetch-Site", "same-origin");
        post.Headers.Add("Origin", DashboardHost.Origin);
        post.Content = new FormUrlEncodedContent([new("key", key), new("__RequestVerificationToken", WebUtility.HtmlDecode(token.Groups["token"].Value))]);
        return await browser.SendAsync(post);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"(?<token>[^\"]+)\"")]
    private static partial Regex FormToken();

    [GeneratedRegex("(?:src|href)=\"(?<url>/(?:js|css)/[^\"]+)\"")]
    private static partial Regex AssetLinks();
}
