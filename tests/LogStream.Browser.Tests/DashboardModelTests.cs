using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using LogStream.AppHost;

// GetEnvironmentVariableValuesAsync is marked obsolete in favour of ExecutionConfigurationBuilder; for reading a model in
// a test it remains the plain way.
#pragma warning disable CS0618

namespace LogStream.Browser.Tests;

/// <summary>The dashboard as the app host models it (built, not started): chaos, the access key, the host names it answers to.</summary>
public sealed class DashboardModelTests
{
    private static async Task<Dictionary<string, string>> EnvironmentAsync(string[] arguments, string resource)
    {
        using var data = new LogStream.Testing.TempDirectory("logstream-model");
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LogStream_AppHost>(
            ["LogStream:BasePort=7150", $"LogStream:DataRoot={data.Path}", "LogStream:Observability=off", .. arguments]);
        var target = (IResourceWithEnvironment)builder.Resources.Single(r => r.Name == resource);
        return await target.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
    }

    [Theory]
    [InlineData("web")]
    [InlineData("node-0")]
    public async Task TheLocalAppHostTurnsChaosOnForRunDemo(string resource)
    {
        var env = await EnvironmentAsync([], resource);
        Assert.Equal("true", env["LogStream__Chaos__Enabled"]);
    }

    [Theory]
    [InlineData("web")]
    [InlineData("node-0")]
    public async Task ChaosOffInTheAppHostTurnsItOffForNodesAndDashboard(string resource)
    {
        var env = await EnvironmentAsync(["LogStream:Chaos=false"], resource);
        Assert.Equal("false", env["LogStream__Chaos__Enabled"]);
    }

    [Fact]
    public async Task TheLocalDashboardIsOpenAndAnswersOnlyToLoopbackNames()
    {
        var env = await EnvironmentAsync([], "web");
        Assert.Equal(LogStreamResources.LocalHostNames, env["AllowedHosts"]);
        Assert.False(env.ContainsKey("LogStream__Dashboard__AccessKey"), "no access key unless one is configured");
        Assert.False(env.ContainsKey("LogStream__ApiKey"), "the local nodes need no API key");
    }

    [Fact]
    public async Task AnAccessKeyGivenToTheAppHostReachesTheDashboardOnly()
    {
        const string key = "local-dashboard-key-0123456789";
        Assert.Equal(key, (await EnvironmentAsync([$"LogStream:Dashboard:AccessKey={key}"], "web"))["LogStream__Dashboard__AccessKey"]);
        Assert.DoesNotContain(key, (await EnvironmentAsync([$"LogStream:Dashboard:AccessKey={key}"], "node-0")).Values);
    }
}
