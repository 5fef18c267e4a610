using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using LogStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LogStream.Browser.Tests;

/// <summary>
/// The whole app host (Redis, node-0..2, web, and the local Prometheus where one is installed) started once for the
/// collection on free ports and a temp data root, so it runs beside a developer's own cluster.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public static readonly string[] Nodes = ["node-0", "node-1", "node-2"];
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly LogStream.Testing.TempDirectory _data = new("logstream-browser");

    public DistributedApplication App { get; private set; } = null!;

    public TimeSpan StartDuration { get; private set; }

    /// <summary>Whether the app host runs its own Prometheus (a <c>prometheus</c> executable was found).</summary>
    public bool HasPrometheus { get; private set; }

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(StartTimeout);
        // Observability=local: the local prometheus executable where installed, never containers (tests own their tools).
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LogStream_AppHost>(
            ["LogStream:BasePort=0", $"LogStream:DataRoot={_data.Path}", "LogStream:Observability=local"], timeout.Token);
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            // Health checks fail while services are still starting: expected noise.
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
            .AddFilter("Aspire.Hosting.Dcp", LogLevel.Error));

        // No Aspire dashboard in tests: without a collector, OTLP exports would only slow every shutdown.
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            project.Annotations.Add(new EnvironmentCallbackAnnotation(context =>
                context.EnvironmentVariables.Remove("OTEL_EXPORTER_OTLP_ENDPOINT")));
        }
        HasPrometheus = builder.Resources.Any(r => r.Name == "prometheus");

        App = await builder.BuildAsync(timeout.Token);
        await App.StartAsync(timeout.Token);
        foreach (var resource in Nodes.Append("web").Concat(HasPrometheus ? ["prometheus"] : []))
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token).WaitAsync(timeout.Token);
        }
        StartDuration = clock.Elapsed;
    }

    public HttpClient Client(string resource)
    {
        var client = App.CreateHttpClient(resource, "http");
        client.Timeout = TimeSpan.FromSeconds(60);
        return client;
    }

    public Uri Endpoint(string resource) => App.GetEndpoint(resource, "http");

    /// <summary>The web's <c>GET /metrics</c> snapshot.</summary>
    public async Task<JsonElement> SnapshotAsync()
    {
        using var web = Client("web");
        return await web.GetFromJsonAsync<JsonElement>("/metrics");
    }

    /// <summary>Presses Run Demo through the API and returns its JSON (fails the test unless it wrote something).</summary>
    public async Task<JsonElement> RunDemoAsync()
    {
        using var web = Client("web");
        using var response = await web.PostAsync("/api/demo/run", null);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"POST /api/demo/run answered {(int)response.StatusCode}: {body}");
        return body;
    }

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
public sealed class AppHostCollection : ICollectionFixture<AppHostFixture>
{
    public const string Name = "app host";
}
