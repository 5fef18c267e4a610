using LogStream.AppHost;
using LogStream.Testing;

namespace LogStream.Browser.Tests;

/// <summary>The Prometheus and Grafana files the app host and users start from: valid, and wired to each other.</summary>
public sealed class ObservabilityFilesTests
{
    private static string Deploy(params string[] parts) => Path.Combine([Repository.Root, "deploy", .. parts]);

    [SkippableFact]
    public async Task ThePrometheusConfigurationsPassPromtool()
    {
        var promtool = RequiredTool.Require("promtool", "apt-get install prometheus");
        using var directory = new LogStream.Testing.TempDirectory("logstream-promtool");
        var generated = Path.Combine(directory.Path, "generated.yml");
        await File.WriteAllTextAsync(generated, PrometheusConfig.Render([("node-0", "localhost:5100"), ("node-1", "localhost:5101")], TimeSpan.FromSeconds(5)));
        foreach (var file in new[] { Deploy("prometheus", "prometheus.yml"), generated })
        {
            await using var check = new ChildProcess(promtool, ["check", "config", file]);
            var exit = await check.WaitForExitAsync(TimeSpan.FromSeconds(20));
            Assert.True(exit == 0, $"promtool check config {file} exited {exit}: {check.RecentOutput()}");
        }
    }

    [Fact]
    public void TheCommittedPrometheusFileIsWhatTheAppHostGeneratesForTheDefaultPorts()
    {
        var committed = File.ReadAllText(Deploy("prometheus", "prometheus.yml"));
        var generated = PrometheusConfig.Render([("node-0", "localhost:5100"), ("node-1", "localhost:5101"), ("node-2", "localhost:5102")],
            ObservabilityResources.ScrapeInterval);
        foreach (var line in generated.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
            Assert.Contains(line, committed, StringComparison.Ordinal);
    }

    [Fact]
    public void GrafanaIsProvisionedWithThePrometheusDatasourceAndTheOneDashboardFile()
    {
        var datasource = File.ReadAllText(Deploy("grafana", "provisioning", "datasources", "prometheus.yml"));
        Assert.Contains("type: prometheus", datasource, StringComparison.Ordinal);
        Assert.Contains("url: ${PROMETHEUS_URL}", datasource, StringComparison.Ordinal);   // set by the app host
        Assert.Contains("isDefault: true", datasource, StringComparison.Ordinal);         // the dashboard's $datasource picks it

        var provider = File.ReadAllText(Deploy("grafana", "provisioning", "dashboards", "logstream.yml"));
        Assert.Contains("path: /var/lib/grafana/dashboards", provider, StringComparison.Ordinal);   // where the app host mounts deploy/grafana/dashboards
        Assert.True(File.Exists(Deploy("grafana", "dashboards", "logstream.json")));
        Assert.Equal(File.ReadAllText(Deploy("grafana", "dashboards", "logstream.json")),
            File.ReadAllText(Deploy("helm", "logstream", "dashboards", "logstream.json")));
    }

    [Fact]
    public void EveryDashboardExpressionIsCompleteOnceItsVariablesAreSubstituted()
    {
        var expressions = PrometheusDashboardTests.DashboardExpressions();
        Assert.True(expressions.Count >= 20);
        Assert.All(expressions, e => Assert.DoesNotContain("$", PrometheusDashboardTests.Substitute(e.Expr), StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.Expr.Contains("logstream_write_duration_seconds_bucket", StringComparison.Ordinal) && e.Expr.Contains("histogram_quantile(0.99", StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.Expr.Contains("logstream_storage_disk_bytes", StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.Expr.Contains("logstream_repairs_completed_total", StringComparison.Ordinal));
    }
}
