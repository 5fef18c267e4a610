using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace LogStream.Testing;

/// <summary>
/// A whole Aspire app host (<typeparamref name="TAppHost"/>: the <c>Projects.*</c> type of the app host project)
/// started once for a test collection on free ports (<c>LogStream:BasePort=0</c>) and a temp data root, so it runs
/// beside a developer's own cluster. Derive to add arguments and the resources to wait for.
/// </summary>
public abstract class AppHostFixture<TAppHost> : IAsyncLifetime where TAppHost : class
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _data = new("logstream-apphost");

    public static readonly string[] Nodes = ["node-0", "node-1", "node-2"];

    public DistributedApplication App { get; private set; } = null!;

    public TimeSpan StartDuration { get; private set; }

    /// <summary>App host arguments beyond the free ports and the data root.</summary>
    protected virtual IEnumerable<string> Arguments => [];

    /// <summary>Resources that must be healthy before the tests run.</summary>
    protected virtual IEnumerable<string> Resources(DistributedApplicationModel model) => Nodes.Append("web");

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<TAppHost>(
            ["LogStream:BasePort=0", $"LogStream:DataRoot={_data.Path}", .. Arguments], timeout.Token);
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
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        foreach (var resource in Resources(model))
            await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token).WaitAsync(timeout.Token);
        await FormedAsync();
        StartDuration = clock.Elapsed;
    }

    /// <summary>
    /// Waits (bounded) for what the tests assume beyond healthy resources: a healthy node has registered, but what
    /// others show of it (a peer's member table, the dashboard's snapshot) follows one refresh later.
    /// </summary>
    protected virtual Task FormedAsync() => Task.CompletedTask;

    public HttpClient Client(string resource)
    {
        var client = App.CreateHttpClient(resource, "http");
        client.Timeout = TimeSpan.FromSeconds(60);
        return client;
    }

    public Uri Endpoint(string resource) => App.GetEndpoint(resource, "http");

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
