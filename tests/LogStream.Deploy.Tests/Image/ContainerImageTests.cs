using System.Text.Json.Nodes;
using LogStream.Deploy.Tests.Helm;

namespace LogStream.Deploy.Tests.Image;

/// <summary>
/// The SDK container settings as <c>dotnet publish -t:PublishContainer</c> computes them (its ComputeContainerConfig
/// target runs offline; building the image itself needs the base image from mcr.microsoft.com, not reachable here).
/// </summary>
public sealed class ContainerImageTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    /// <param name="restore">Only for a project the test build did not restore already (the node's assets are in place).</param>
    private static JsonObject ComputeContainerConfig(string project, bool restore = false)
    {
        string[] restoreFirst = restore ? ["-restore"] : [];
        var result = ProcessRunner.Run("dotnet",
            ["msbuild", project, .. restoreFirst, "-nologo", "-nodeReuse:false", "-t:ComputeContainerConfig",
             "-getProperty:ContainerBaseImage", "-getProperty:ContainerRepository", "-getProperty:ContainerUser",
             "-getProperty:ContainerImageTags", "-getProperty:ContainerWorkingDirectory",
             "-getItem:ContainerPort", "-getItem:ContainerEnvironmentVariables", "-getItem:ContainerLabel"],
            Deadline,
            environment: new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0" });
        Assert.True(result.Succeeded, result.ToString());
        return JsonNode.Parse(result.StandardOutput)!.AsObject();
    }

    private static IEnumerable<(string Identity, string? Value)> Items(JsonObject config, string item) =>
        config.Arr($"Items/{item}").Select(i => (i!.Str("Identity")!, i.Str("Value") ?? i.Str("Type")));

    [Fact]
    public void NodeImageIsChiseledNonRootWithBothPortsAndItsKestrelEndpoints()
    {
        var config = ComputeContainerConfig(RepositoryPaths.NodeProject);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled", config.Str("Properties/ContainerBaseImage"));
        Assert.Equal("logstream-node", config.Str("Properties/ContainerRepository"));
        Assert.Equal("1654", config.Str("Properties/ContainerUser"));
        Assert.Equal([("5100", "tcp"), ("5300", "tcp")], Items(config, "ContainerPort"));
        var env = Items(config, "ContainerEnvironmentVariables").ToDictionary(e => e.Identity, e => e.Value);
        Assert.Equal("http://0.0.0.0:5100", env["Kestrel__Endpoints__Public__Url"]);
        Assert.Equal("http://0.0.0.0:5300", env["Kestrel__Endpoints__Internal__Url"]);
        Assert.Equal("Http2", env["Kestrel__Endpoints__Internal__Protocols"]);
        Assert.Contains(Items(config, "ContainerLabel"), l => l.Identity == "org.opencontainers.image.title" && l.Value == "LogStream node");
    }

    [Fact]
    public void ChartDefaultTagIsTheTagThePublishGivesBothImages()
    {
        var tags = ComputeContainerConfig(RepositoryPaths.NodeProject).Str("Properties/ContainerImageTags")!.Split(';');
        var appVersion = File.ReadLines(Path.Combine(RepositoryPaths.Chart, "Chart.yaml"))
            .Single(l => l.StartsWith("appVersion:", StringComparison.Ordinal))["appVersion:".Length..].Trim().Trim('"');
        Assert.Equal([appVersion, "latest"], tags);
    }

    [Fact]
    public void WebImageIsChiseledNonRootOnPort5200()
    {
        var config = ComputeContainerConfig(RepositoryPaths.WebProject);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled", config.Str("Properties/ContainerBaseImage"));
        Assert.Equal("logstream-web", config.Str("Properties/ContainerRepository"));
        Assert.Equal("1654", config.Str("Properties/ContainerUser"));
        Assert.Equal("1.0.0;latest", config.Str("Properties/ContainerImageTags"));
        Assert.Equal([("5200", "tcp")], Items(config, "ContainerPort"));
        Assert.Contains(("ASPNETCORE_HTTP_PORTS", "5200"), Items(config, "ContainerEnvironmentVariables"));
    }
}
