using System.Text.Json;
using LogStream.Web.Cluster;
using LogStream.Web.Demo;
using LogStream.Web.Diagnostics;
using LogStream.Web.Security;
using LogStream.Web.Snapshot;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LogStream.Web;

public static class DashboardHostingExtensions
{
    /// <summary>Registers the dashboard: options (validated at start), its protection, node clients, the snapshot refresher, the demo.</summary>
    public static WebApplicationBuilder AddLogStreamDashboard(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SnapshotOptions>().BindConfiguration(SnapshotOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ChaosOptions>().BindConfiguration(ChaosOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddDashboardSecurity();
        services.AddRazorPages();

        // One try per node with a short timeout, then the next node: the default retrying handler
        // would hold the page on a dead node for many seconds.
#pragma warning disable EXTEXP0001 // experimental, but the supported way to opt one client out of the defaults
        services.AddTransient<BackgroundPoll>();
        services.AddHttpClient(ClusterClient.HttpClientName, (sp, http) =>
            {
                // Nodes that require an API key get the dashboard's. Only this client, only towards the nodes: the key
                // is never rendered, returned or logged.
                if (sp.GetRequiredService<IOptions<DashboardOptions>>().Value.ApiKey is { Length: > 0 } key)
                    http.DefaultRequestHeaders.Add("X-Api-Key", key);
            })
            .RemoveAllResilienceHandlers().AddHttpMessageHandler<BackgroundPoll>();
#pragma warning restore EXTEXP0001
        services.AddSingleton<ClusterClient>();
        services.AddSingleton<NodeClient>();
        services.AddSingleton<RingCache>();
        services.AddSingleton<DashboardMetrics>();
        services.AddSingleton<SnapshotStore>();
        services.AddSingleton<SnapshotRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<SnapshotRefresher>());
        services.AddSingleton<DemoRunner>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        services.AddProblemDetails();
        return builder;
    }

    /// <summary>The page and the login form, behind the dashboard's access policy (the login form itself is open).</summary>
    public static WebApplication MapDashboardPages(this WebApplication app)
    {
        app.MapRazorPages().RequireAuthorization(DashboardSecurity.PolicyName);
        return app;
    }
}
