namespace LogStream.Deploy.Tests.Helm;

/// <summary><c>helm lint --strict</c> with the default values and every alternative the tests render.</summary>
public sealed class ChartLintTests
{
    [SkippableTheory]
    [MemberData(nameof(ChartScenarios.Names), MemberType = typeof(ChartScenarios))]
    public void ChartLintsCleanly(string scenario)
    {
        var values = ChartScenarios.All[scenario].Where(v => v != "--kube-version" && v != "1.29.0").ToArray();
        var result = HelmCli.Require().Run(["lint", "--strict", RepositoryPaths.Chart, "--namespace", ChartScenarios.Namespace, .. values]);
        Assert.True(result.Succeeded, $"helm lint ({scenario}): {result}");
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", result.StandardOutput);
        Assert.DoesNotContain("[WARNING]", result.StandardOutput);
        Assert.DoesNotContain("[ERROR]", result.StandardOutput);
    }

    [SkippableFact]
    public void PackagedChartCarriesTheDashboardJsonItself()
    {
        // dashboards/logstream.json is a link to deploy/grafana/dashboards/logstream.json: the package must hold the content.
        var output = Directory.CreateTempSubdirectory("logstream-package-");
        try
        {
            var result = HelmCli.Require().Run("package", RepositoryPaths.Chart, "--destination", output.FullName);
            Assert.True(result.Succeeded, result.ToString());
            var package = Assert.Single(output.GetFiles("logstream-*.tgz"));
            using var gzip = new System.IO.Compression.GZipStream(package.OpenRead(), System.IO.Compression.CompressionMode.Decompress);
            using var tar = new System.Formats.Tar.TarReader(gzip);
            System.Formats.Tar.TarEntry? entry;
            while ((entry = tar.GetNextEntry()) is not null && entry.Name != "logstream/dashboards/logstream.json")
            {
            }

            Assert.NotNull(entry);
            Assert.Equal(System.Formats.Tar.TarEntryType.RegularFile, entry!.EntryType);
            using var reader = new StreamReader(entry.DataStream!);
            Assert.Equal(File.ReadAllText(RepositoryPaths.DashboardFile), reader.ReadToEnd());
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
