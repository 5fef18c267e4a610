using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LogStream.AppHost;
using LogStream.Testing;
using Xunit.Abstractions;

namespace LogStream.Browser.Tests;

/// <summary>
/// A real Prometheus scrapes the app host's three nodes, and every PromQL expression of the Grafana dashboard
/// (deploy/grafana/dashboards/logstream.json, its variables as Grafana's "All") returns data after a demo run.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed partial class PrometheusDashboardTests(AppHostFixture host, ITestOutputHelper output)
{
    private static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(1);

    private static string DashboardFile => Path.Combine(Repository.Root, "deploy", "grafana", "dashboards", "logstream.json");

    /// <summary>Every target expression of every panel, with its panel's title.</summary>
    public static IReadOnlyList<(string Panel, string Expr)> DashboardExpressions()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(DashboardFile))!;
        return dashboard["panels"]!.AsArray()
            .Where(p => p!["targets"] is JsonArray)
            .SelectMany(p => p!["targets"]!.AsArray().Select(t => (p!["title"]!.GetValue<string>(), t!["expr"]!.GetValue<string>())))
            .ToList();
    }

    /// <summary>
    /// What Grafana sends for the dashboard's defaults: All (<c>.*</c>) for $namespace and $instance, a rate interval of
    /// a few scrapes for $__rate_interval, and the last 5 minutes for $__range.
    /// </summary>
    public static string Substitute(string expr) => expr
        .Replace("$namespace", ".*", StringComparison.Ordinal)
        .Replace("$instance", ".*", StringComparison.Ordinal)
        .Replace("$__rate_interval", "30s", StringComparison.Ordinal)
        .Replace("$__range", "5m", StringComparison.Ordinal);

    [SkippableFact]
    public async Task EveryDashboardExpressionReturnsDataAfterADemoRun()
    {
        var executable = RequiredTool.Require("prometheus", "apt-get install prometheus");
        var clock = Stopwatch.StartNew();
        // A cluster in use: every node has coordinated a QUORUM write before. Histogram series (write latency per
        // consistency) appear with their first observation, and rate() needs a sample from before the demo's writes.
        foreach (var node in AppHostFixture.Nodes)
        {
            using var client = host.Client(node);
            // The demo's own sources, so the warm-up adds no partitions of its own to the dashboard.
            var records = Enumerable.Range(0, 4).Select(i => new ClientRecord($"warmup-{node}-{Guid.NewGuid():N}", DateTimeOffset.UtcNow,
                "INFO", i % 2 == 0 ? "checkout" : "search", "warm-up write", new Dictionary<string, object> { ["test"] = "prometheus" }));
            using var response = await client.PostAsync(records);
            Assert.True(response.IsSuccessStatusCode, $"warm-up write through {node}: {(int)response.StatusCode}");
        }
        var targets = AppHostFixture.Nodes.Select(n => (n, $"127.0.0.1:{host.Endpoint(n).Port}")).ToList();
        await using var prometheus = await PrometheusServer.StartAsync(executable, PrometheusConfig.Render(targets, ScrapeInterval), TimeSpan.FromSeconds(15));
        output.WriteLine($"prometheus ready at {prometheus.Url} after {clock.ElapsedMilliseconds} ms");

        // Scraping first, then a demo run inside the rate window, then the repair it causes: afterwards every node
        // metric the dashboard charts exists and the rates see the demo.
        await Wait.UntilAsync(async () => (await prometheus.QueryAsync("up{job=\"logstream-nodes\"} == 1")).GetArrayLength() == 3,
            TimeSpan.FromSeconds(20), "prometheus to scrape all three nodes (up == 1)");
        output.WriteLine($"all three nodes scraped after {clock.ElapsedMilliseconds} ms");
        var before = await host.SnapshotAsync();
        var repairsBefore = before.GetProperty("repairs_completed").GetInt64();
        var demo = await host.RunDemoAsync();
        output.WriteLine(demo.GetProperty("summary").GetString());
        await Wait.UntilAsync(async () => (await host.SnapshotAsync()).GetProperty("repairs_completed").GetInt64() > repairsBefore,
            TimeSpan.FromSeconds(45), "a repair after the demo's loss");
        await Wait.UntilAsync(async () => Sum(await prometheus.QueryAsync("sum(logstream_repairs_completed_total)")) > repairsBefore,
            TimeSpan.FromSeconds(15), "prometheus to scrape the repair");
        var ingestedAfter = before.GetProperty("ingested").GetInt64() + demo.GetProperty("accepted").GetInt64();
        await Wait.UntilAsync(async () => Sum(await prometheus.QueryAsync("sum(logstream_records_ingested_total)")) >= ingestedAfter,
            TimeSpan.FromSeconds(15), "prometheus to scrape the demo's writes on its coordinator");
        output.WriteLine($"demo and repair scraped after {clock.ElapsedMilliseconds} ms");

        // The raw series behind the panels, without the dashboard's "or vector(0)" fallbacks.
        Assert.True(Sum(await prometheus.QueryAsync("sum(logstream_records_ingested_total)")) >= demo.GetProperty("accepted").GetInt64());
        Assert.True(Sum(await prometheus.QueryAsync("sum(increase(logstream_records_ingested_total[1m]))")) > 0, "the demo's writes show as an increase");
        var p99 = await prometheus.QueryAsync(Substitute(
            "histogram_quantile(0.99, sum by (le, consistency) (rate(logstream_write_duration_seconds_bucket{consistency=\"QUORUM\"}[$__rate_interval])))"));
        Assert.True(p99.GetArrayLength() == 1 && double.IsFinite(Sum(p99)), $"a finite QUORUM write p99: {p99}");
        output.WriteLine($"QUORUM write p99 over the demo: {Sum(p99) * 1000:0.#} ms");
        Assert.True((await prometheus.QueryAsync("logstream_write_duration_seconds_bucket{consistency=\"QUORUM\",le=\"+Inf\"}")).GetArrayLength() > 0);
        Assert.Equal(3, (await prometheus.QueryAsync("logstream_storage_disk_bytes > 0")).GetArrayLength());
        Assert.True(Sum(await prometheus.QueryAsync("sum(logstream_records_repaired_total)")) > 0);

        // The variables' queries, as Grafana's label_values() asks them.
        Assert.Equal(["local"], await prometheus.LabelValuesAsync("namespace", "logstream_membership_members"));
        Assert.Equal(3, (await prometheus.LabelValuesAsync("instance", "logstream_membership_members{namespace=~\"local\"}")).Count);

        var failures = new List<string>();
        var expressions = DashboardExpressions();
        Assert.True(expressions.Count >= 20, $"only {expressions.Count} expressions found in the dashboard");
        var deadline = Stopwatch.StartNew();
        foreach (var (panel, expr) in expressions)
        {
            var query = Substitute(expr);
            Assert.DoesNotMatch(UnresolvedVariable(), query);
            JsonElement result = default;
            // One deadline for all: the first expressions may wait for a second scrape, the others answer at once.
            while (true)
            {
                result = await prometheus.QueryAsync(query);
                if (result.GetArrayLength() > 0 || deadline.Elapsed > TimeSpan.FromSeconds(20))
                    break;
                await Task.Delay(250);
            }
            var values = result.EnumerateArray().Select(r => r.GetProperty("value")[1].GetString()).ToList();
            output.WriteLine($"{panel}: {query}{Environment.NewLine}    -> {values.Count} series: {string.Join(", ", values.Take(6))}");
            if (values.Count == 0)
                failures.Add($"{panel}: {query}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} dashboard expressions returned no data:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
        output.WriteLine($"{expressions.Count} expressions checked; test took {clock.ElapsedMilliseconds} ms");
        var names = await prometheus.LabelValuesAsync("__name__", "{job=\"logstream-nodes\",__name__=~\"logstream_.*\"}");
        output.WriteLine($"LogStream metrics scraped from the nodes: {string.Join(", ", names)}");
    }

    [SkippableFact]
    public async Task TheAppHostsOwnPrometheusScrapesEveryNode()
    {
        RequiredTool.Require("prometheus", "apt-get install prometheus");
        Assert.True(host.HasPrometheus, "the app host found prometheus on PATH but did not add its Prometheus resource");
        using var http = host.Client("prometheus");
        await Wait.UntilAsync(async () =>
        {
            var body = JsonDocument.Parse(await http.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString("up{job=\"logstream-nodes\"} == 1")));
            var pods = body.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
                .Select(r => r.GetProperty("metric").GetProperty("pod").GetString()).Order().ToList();
            return pods.SequenceEqual(AppHostFixture.Nodes);
        }, TimeSpan.FromSeconds(30), "the app host's Prometheus to scrape node-0..2 (up == 1, labelled by pod)");
    }

    private static double Sum(JsonElement result) =>
        result.EnumerateArray().Sum(r => double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"\$")]
    private static partial Regex UnresolvedVariable();
}
