using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LogStream.Deploy.Tests.Helm;

namespace LogStream.Deploy.Tests.Grafana;

/// <summary>The committed Grafana dashboard: loadable by the sidecar as is, and about the node's real metrics.</summary>
public sealed partial class DashboardTests
{
    private static readonly JsonObject Dashboard = JsonNode.Parse(File.ReadAllText(RepositoryPaths.DashboardFile))!.AsObject();

    private static IEnumerable<JsonObject> Panels => Dashboard.Arr("panels").Select(p => p!.AsObject());

    private static IEnumerable<string> Expressions =>
        Panels.Where(p => p["targets"] is JsonArray).SelectMany(p => p.Arr("targets").Select(t => t!.Str("expr")!));

    [Theory]
    [InlineData("logstream_records_ingested_total")]
    [InlineData("logstream_repairs_completed_total")]
    [InlineData("logstream_records_repaired_total")]
    [InlineData("logstream_hints_pending")]
    [InlineData("logstream_quorum_failures_total")]
    [InlineData("logstream_membership_members")]
    [InlineData("http_server_request_duration_seconds")]
    [InlineData("logstream_write_duration_seconds")]
    [InlineData("logstream_read_duration_seconds")]
    [InlineData("logstream_storage_disk_bytes")]
    [InlineData("logstream_storage_records")]
    [InlineData("logstream_repair_comparisons_total")]
    [InlineData("logstream_repair_mismatches_total")]
    [InlineData("logstream_repair_bytes_total")]
    [InlineData("logstream_repair_duration_seconds")]
    public void DashboardChartsTheNodeMetric(string metric) =>
        Assert.Contains(Expressions, e => Regex.IsMatch(e, $@"\b{metric}(_bucket|_count|_sum)?\{{"));

    [Fact]
    public void DashboardHasNoImportPlaceholders()
    {
        var text = File.ReadAllText(RepositoryPaths.DashboardFile);
        Assert.False(Dashboard.ContainsKey("__inputs"), "__inputs only work through Grafana's import UI, not the sidecar");
        Assert.False(Dashboard.ContainsKey("__requires"));
        Assert.DoesNotContain("${DS_", text);
        Assert.Null(Dashboard["id"]);
        Assert.Equal("logstream-overview", Dashboard.Str("uid"));
    }

    [Fact]
    public void EveryVariableTheDashboardUsesIsDefinedOrBuiltIn()
    {
        var defined = Dashboard.Arr("templating/list").Select(v => v!.Str("name")!).ToHashSet();
        Assert.Contains("datasource", defined);
        var text = File.ReadAllText(RepositoryPaths.DashboardFile);
        var used = VariableReference().Matches(text).Select(m => m.Groups["name"].Value).ToHashSet();
        Assert.All(used, name => Assert.True(defined.Contains(name) || name.StartsWith("__", StringComparison.Ordinal),
            $"${name} is used but not defined"));
        Assert.All(Panels.Where(p => p.Str("type") != "row"), p => Assert.Equal("${datasource}", p.Str("datasource/uid")));
    }

    [Fact]
    public void PanelsDoNotOverlapAndHaveUniqueIds()
    {
        Assert.Equal(Panels.Count(), Panels.Select(p => (int)p["id"]!).Distinct().Count());
        var cells = new HashSet<(int, int)>();
        foreach (var panel in Panels)
        {
            int x = (int)panel.At("gridPos/x")!, y = (int)panel.At("gridPos/y")!, w = (int)panel.At("gridPos/w")!, h = (int)panel.At("gridPos/h")!;
            Assert.True(x + w <= 24, $"panel {panel.Str("title")} is wider than the grid");
            for (var i = x; i < x + w; i++)
            for (var j = y; j < y + h; j++)
                Assert.True(cells.Add((i, j)), $"panel {panel.Str("title")} overlaps another at ({i},{j})");
        }
    }

    [Fact]
    public void ChartIncludesTheSameFileThroughItsDashboardsFolder()
    {
        var inChart = new FileInfo(Path.Combine(RepositoryPaths.Chart, "dashboards", "logstream.json"));
        Assert.True(inChart.Exists, "deploy/helm/logstream/dashboards/logstream.json is missing");
        Assert.Equal(File.ReadAllText(RepositoryPaths.DashboardFile), File.ReadAllText(inChart.FullName));
    }

    [GeneratedRegex(@"\$\{?(?<name>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex VariableReference();
}
