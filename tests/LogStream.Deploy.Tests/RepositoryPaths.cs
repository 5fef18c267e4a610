namespace LogStream.Deploy.Tests;

/// <summary>Paths inside the repository, found from the test's output folder upwards.</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    public static string Chart => Path.Combine(Root, "deploy", "helm", "logstream");

    public static string DashboardFile => Path.Combine(Root, "deploy", "grafana", "dashboards", "logstream.json");

    public static string NodeProject => Path.Combine(Root, "LogStream.Node", "LogStream.Node.csproj");

    public static string WebProject => Path.Combine(Root, "LogStream.Web", "LogStream.Web.csproj");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "deploy", "helm", "logstream", "Chart.yaml")))
                return dir.FullName;
        }

        throw new InvalidOperationException($"No deploy/helm/logstream/Chart.yaml above {AppContext.BaseDirectory}.");
    }
}
