using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using LogStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LogStream.Cluster.Tests;

/// <summary>
/// The whole app host (Redis, node-0..2, web) started once for the collection on free ports and a temp data
/// root, so it runs beside a developer's own cluster.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly string[] Nodes = ["node-0", "node-1", "node-2"];
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly LogStream.Testing.TempDirectory _data = new("logstream-cluster");

    public DistributedApplication App { get; private set; } = null!;

    public TimeSpan StartDuration { get; private set; }

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LogStream_AppHost>(
            ["LogStream:BasePort=0", $"LogStream:DataRoot={_data.Path}", "LogStream:Observability=off"], timeout.Token);
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            // Health checks fail while services are still starting: expected noise.
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
            .AddFilter("Aspire.Hosting.Dcp", LogLevel.Error));

        // Tests run without the Aspire dashboard, yet resources are told to export OTLP to localhost:4317. With no
        // collector there, each process spends its shutdown retrying exports and a stop command times out.
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            project.Annotations.Add(new EnvironmentCallbackAnnotation(context =>
                context.EnvironmentVariables.Remove("OTEL_EXPORTER_OTLP_ENDPOINT")));
        }

        App = await builder.BuildAsync(timeout.Token);
        await App.StartAsync(timeout.Token);
        foreach (var resource in Nodes.Append("web"))
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token)
                .WaitAsync(timeout.Token);
        }
        StartDuration = clock.Elapsed;
    }

    public HttpClient Client(string resource) => App.CreateHttpClient(resource, "http");

    public Task<ExecuteCommandResult> ExecuteAsync(string resource, string command, CancellationToken cancellationToken) =>
        App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(resource, command, cancellationToken);

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await App.StopAsync(timeout.Token);
            await App.DisposeAsync();
        }
        _data.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
