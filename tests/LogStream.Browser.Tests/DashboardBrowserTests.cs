using System.Diagnostics;
using System.Globalization;
using LogStream.Testing;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace LogStream.Browser.Tests;

/// <summary>The dashboard as a person sees it: Debian's Chromium driven by Playwright against the running app host.</summary>
[Collection(AppHostCollection.Name)]
public sealed class DashboardBrowserTests(AppHostFixture host, ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Launch options that work headless as root with Debian's Chromium (shared/notes).</summary>
    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
    ];

    /// <summary>Anti-entropy runs every 10 s ± 20 % on each node; a repair needs one round after the loss.</summary>
    private static readonly TimeSpan RepairWait = TimeSpan.FromSeconds(45);

    public static string ScreenshotDirectory => Path.Combine(AppContext.BaseDirectory, "screenshots");

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        var chromium = RequiredTool.Require("chromium", "apt-get install chromium");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    private async Task<IPage> OpenDashboardAsync()
    {
        var page = await _browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                output.WriteLine($"browser console error: {message.Text}");
        };
        await page.GotoAsync(host.Endpoint("web").ToString(), new PageGotoOptions { Timeout = 30_000 });
        // The script's first refresh fills the node table from /metrics (the server render may predate the cluster).
        await Wait.UntilAsync(async () => await page.Locator("#nodes tbody tr").CountAsync() == 3
                                          && await page.Locator("#nodes .state.up").CountAsync() == 3,
            TimeSpan.FromSeconds(20), "the page to show three nodes up");
        return page;
    }

    private static async Task<long> FigureAsync(IPage page, string id)
    {
        var text = await page.GetAttributeAsync(id, "data-value");
        return long.Parse(text!, NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    [SkippableFact]
    public async Task RunDemoMakesIngestedAndRepairsCompletedGrow()
    {
        var page = await OpenDashboardAsync();
        // Start from a settled cluster (earlier demos' losses repaired, every root equal), so the repairs counted below
        // are the ones this click causes.
        await WaitAllInSyncAsync(page, "every (partition, bucket) row to be in sync before the click", allowEmpty: true);
        var ingested = await FigureAsync(page, "#tile-ingested");
        var repairs = await FigureAsync(page, "#tile-repairs-completed");
        output.WriteLine($"before: ingested {ingested}, repairs_completed {repairs} (app host healthy in {host.StartDuration.TotalSeconds:F1} s)");

        var clock = Stopwatch.StartNew();
        await page.ClickAsync("#run-demo");
        await Wait.UntilAsync(async () => (await page.TextContentAsync("#action-result"))?.Contains("Wrote", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(30), "the Run Demo result to say what it wrote");
        var summary = await page.TextContentAsync("#action-result");
        output.WriteLine($"demo answered in {clock.ElapsedMilliseconds} ms: {summary}");
        Assert.Contains("lost", summary, StringComparison.Ordinal);   // chaos is on in the app host: one replica lost records

        await Wait.UntilAsync(async () => await FigureAsync(page, "#tile-ingested") > ingested,
            TimeSpan.FromSeconds(10), "the ingested tile to grow after Run Demo");
        output.WriteLine($"ingested grew to {await FigureAsync(page, "#tile-ingested")} after {clock.ElapsedMilliseconds} ms");
        await Wait.UntilAsync(async () => await FigureAsync(page, "#tile-repairs-completed") > repairs,
            RepairWait, "the repairs_completed tile to grow (the nodes' anti-entropy repairing what the demo made a replica lose)");
        output.WriteLine($"repairs_completed grew to {await FigureAsync(page, "#tile-repairs-completed")} after {clock.ElapsedMilliseconds} ms");

        // Every partition the demo wrote ends in sync on its three replicas once repair is done.
        await WaitAllInSyncAsync(page, "every (partition, bucket) row to be in sync after the repair");

        // Clicking a partition highlights its replicas on the ring.
        await page.Locator("#partitions a.pick").First.ClickAsync();
        await Wait.UntilAsync(async () => await page.Locator("#ring-legend li.highlight").CountAsync() == 3,
            TimeSpan.FromSeconds(5), "the ring legend to highlight the partition's three replicas");
        Assert.Equal(3, await page.Locator("#ring-walk line.walk").CountAsync());

        // And the ERROR panel filled (ten rows), so the screenshot shows every part of the page.
        await page.FillAsync("#error-limit", "10");
        await page.ClickAsync("#error-run");
        await Wait.UntilAsync(async () => await page.Locator("#error-results tbody tr").CountAsync() > 0,
            TimeSpan.FromSeconds(20), "the ERROR panel to list the demo's errors");

        Directory.CreateDirectory(ScreenshotDirectory);
        var screenshot = Path.Combine(ScreenshotDirectory, "dashboard-after-demo.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is a real picture");
        output.WriteLine($"screenshot: {screenshot}");
    }

    [SkippableFact]
    public async Task AStoppedNodeIsNamedInTheBannerUntilItIsBack()
    {
        const string victim = "node-2";
        var page = await OpenDashboardAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var commands = host.App.Services.GetRequiredService<ResourceCommandService>();

        var stopped = await commands.ExecuteCommandAsync(victim, KnownResourceCommands.StopCommand, timeout.Token);
        Assert.True(stopped.Success, stopped.Message);
        var clock = Stopwatch.StartNew();
        try
        {
            // First it stops answering (its figures go stale), then the membership marks it down (suspicion timeout 5 s).
            await Wait.UntilAsync(async () => (await page.TextContentAsync("#problems"))?.Contains($"{victim} is down", StringComparison.Ordinal) == true,
                TimeSpan.FromSeconds(15), $"the banner to say {victim} is down");
            output.WriteLine($"banner after {clock.ElapsedMilliseconds} ms: {await page.TextContentAsync("#status")}");
            Assert.Contains("warn", await page.GetAttributeAsync("#status", "class"), StringComparison.Ordinal);
            Assert.Equal("down", await page.TextContentAsync($"#nodes tr[data-node='{victim}'] .state"));
            Directory.CreateDirectory(ScreenshotDirectory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, "dashboard-node-down.png"), FullPage = true });
        }
        finally
        {
            var started = await commands.ExecuteCommandAsync(victim, KnownResourceCommands.StartCommand, timeout.Token);
            Assert.True(started.Success, started.Message);
            await host.App.ResourceNotifications.WaitForResourceHealthyAsync(victim, timeout.Token);
        }
        await Wait.UntilAsync(async () => await page.Locator("#problems li").CountAsync() == 0
                                          && await page.Locator("#nodes .state.up").CountAsync() == 3,
            TimeSpan.FromSeconds(20), $"the banner to clear once {victim} is back up");
        output.WriteLine($"{victim} back and banner clear after {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>Waits until the partition table lists rows and every one is in sync (equal roots on every replica).</summary>
    private static Task WaitAllInSyncAsync(IPage page, string what, bool allowEmpty = false) => Wait.UntilAsync(async () =>
    {
        var rows = await page.Locator("#partitions tbody tr").CountAsync();
        return (rows > 0 || allowEmpty) && await page.Locator("#partitions tbody tr[data-status='in_sync']").CountAsync() == rows;
    }, RepairWait, what);

    [SkippableFact]
    public async Task LastUpdateChangesTwiceWithinThreeSeconds()
    {
        var page = await OpenDashboardAsync();
        var seen = new List<string> { (await page.GetAttributeAsync("#last-update", "data-value"))! };
        var clock = Stopwatch.StartNew();
        while (seen.Count < 3 && clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            var value = (await page.GetAttributeAsync("#last-update", "data-value"))!;
            if (value != seen[^1])
                seen.Add(value);
            await Task.Delay(50);
        }
        output.WriteLine($"last_update values within {clock.ElapsedMilliseconds} ms: {string.Join(", ", seen)}");
        Assert.True(seen.Count >= 3, $"last_update changed {seen.Count - 1} times in 3 s: {string.Join(", ", seen)}");
        var times = seen.Select(s => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture)).ToList();
        Assert.True(times[1] > times[0] && times[2] > times[1], "last_update only moves forward");
        Assert.Equal(await page.GetAttributeAsync("#tile-last-update", "data-value"), await page.GetAttributeAsync("#last-update", "data-value"));
    }

    [SkippableFact]
    public async Task TheErrorPanelQueriesErrorsAcrossPartitionsAtTheChosenConsistency()
    {
        var demo = await host.RunDemoAsync();
        Assert.True(demo.GetProperty("error_records").GetInt32() > 0);
        var page = await OpenDashboardAsync();

        await page.SelectOptionAsync("#error-consistency", "ALL");
        await page.ClickAsync("#error-run");
        await Wait.UntilAsync(async () => (await page.TextContentAsync("#error-status"))?.Contains("records through", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(20), "the ERROR query to answer");
        output.WriteLine(await page.TextContentAsync("#error-status"));
        Assert.Contains("at ALL", await page.TextContentAsync("#error-status"), StringComparison.Ordinal);

        var rows = page.Locator("#error-results tbody tr");
        Assert.True(await rows.CountAsync() > 0, "at least one ERROR row");
        var levels = await page.Locator("#error-results tbody td:nth-child(3)").AllTextContentsAsync();
        Assert.All(levels, l => Assert.Equal("ERROR", l));
        var sources = (await page.Locator("#error-results tbody td:nth-child(2)").AllTextContentsAsync()).Distinct().ToList();
        output.WriteLine($"{levels.Count} ERROR rows from {sources.Count} sources: {string.Join(", ", sources)}");
        Assert.True(sources.Count > 1, "errors come from several partitions (one per source)");
    }
}
