using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LogStream.Deploy.Tests.Helm;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
    public const string Name = "process environment";
}

/// <summary>
/// The chart gives the .NET host its stop budget through DOTNET_SHUTDOWNTIMEOUTSECONDS; this proves an ASP.NET Core
/// host really reads that variable (the default would be 30 s, whatever terminationGracePeriodSeconds says).
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
public sealed class ShutdownTimeoutTests
{
    [SkippableFact]
    public void HostStopBudgetFromTheChartReachesTheDotnetHost()
    {
        var chart = ChartScenarios.Render("--set", "terminationGracePeriodSeconds=90", "--set", "preStopSleepSeconds=10");
        var seconds = RenderedChart.EnvValue(chart.NodeContainer, "DOTNET_SHUTDOWNTIMEOUTSECONDS");
        Assert.Equal("75", seconds);

        var before = Environment.GetEnvironmentVariable("DOTNET_SHUTDOWNTIMEOUTSECONDS");
        Environment.SetEnvironmentVariable("DOTNET_SHUTDOWNTIMEOUTSECONDS", seconds);
        try
        {
            using var app = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" }).Build();
            Assert.Equal(TimeSpan.FromSeconds(75), app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DOTNET_SHUTDOWNTIMEOUTSECONDS", before);
        }
    }
}
