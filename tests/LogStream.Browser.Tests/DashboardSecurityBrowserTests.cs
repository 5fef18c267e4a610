using System.Collections.Concurrent;
using System.Net;
using System.Text;
using LogStream.Testing;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace LogStream.Browser.Tests;

/// <summary>
/// Issue 14 in a real browser: a page on another site, open in the same Chromium as the dashboard, tries the dashboard's
/// actions and its ERROR query. The "other site" is a real server on 127.0.0.1 (another site than localhost, and on the
/// loopback, so the browser's own local-network rules do not stop the requests before the dashboard sees them).
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class DashboardSecurityBrowserTests(AppHostFixture host, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        var chromium = RequiredTool.Require("chromium", "apt-get install chromium");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    [SkippableFact]
    public async Task APageOnAnotherSiteCannotMakeTheBrowserRunTheDashboardsActionsOrReadItsErrors()
    {
        var web = host.Endpoint("web").ToString().TrimEnd('/');
        var evilHtml = $$"""
            <!doctype html><title>evil</title>
            <iframe name="sink"></iframe>
            <form id="lose" method="post" target="sink" action="{{web}}/api/chaos/lose?node=node-0&amp;fraction=1"><input name="x" value="1"></form>
            <script>
              fetch("{{web}}/api/demo/run", { method: "POST", mode: "no-cors", credentials: "include" });
              fetch("{{web}}/api/repair", { method: "POST", mode: "no-cors", credentials: "include" });
              fetch("{{web}}/api/errors?limit=10", { mode: "no-cors", credentials: "include" });
              fetch("{{web}}/api/errors?limit=10", { credentials: "include" }).then(r => r.text()).then(t => document.title = "read", () => document.title = "blocked");
              document.getElementById("lose").submit();
            </script>
            """;
        using var evil = EvilSite.Start(evilHtml);

        var context = await _browser!.NewContextAsync();
        await using var _ = context;
        var dashboard = await context.NewPageAsync();
        await dashboard.GotoAsync(web);   // the victim has the dashboard open in the same browser
        // Only the other site's requests: the dashboard's own page keeps calling its API meanwhile.
        var page = await context.NewPageAsync();
        var answers = new ConcurrentDictionary<string, int>();
        page.Response += (_, response) =>
        {
            if (response.Url.StartsWith(web + "/api/", StringComparison.Ordinal))
                answers[new Uri(response.Url).AbsolutePath] = response.Status;
        };
        await page.GotoAsync(evil.Url);
        // A CORS-blocked read shows as a failed request, not a response: the no-cors copy of it shows the status.
        await Wait.UntilAsync(() => answers.Count == 4, TimeSpan.FromSeconds(20),
            "the dashboard to answer the other site's four requests (demo, repair, chaos, errors)");

        output.WriteLine(string.Join(", ", answers.Select(a => $"{a.Key}: {a.Value}")));
        Assert.Equal(403, answers["/api/demo/run"]);
        Assert.Equal(403, answers["/api/repair"]);
        Assert.Equal(403, answers["/api/chaos/lose"]);
        Assert.Equal(403, answers["/api/errors"]);
        await Wait.UntilAsync(async () => await page.TitleAsync() != "evil", TimeSpan.FromSeconds(5), "the other site's read to settle");
        Assert.Equal("blocked", await page.TitleAsync());
    }

    [Fact]
    public async Task TheLocalDashboardAnswersOnlyToLoopbackHostNames()
    {
        using var web = host.Client("web");
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        rebound.Headers.Host = $"rebound.example:{host.Endpoint("web").Port}";
        using var refused = await web.SendAsync(rebound);
        using var local = await web.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
    }

    /// <summary>Another site: a plain HTTP server on 127.0.0.1 that serves one page.</summary>
    private sealed class EvilSite : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly byte[] _page;

        private EvilSite(string html, int port)
        {
            _page = Encoding.UTF8.GetBytes(html);
            Url = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = ServeAsync();
        }

        public string Url { get; }

        public static EvilSite Start(string html) => new(html, Ports.FreeTcpPort());

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.OutputStream.WriteAsync(_page);
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }
}
