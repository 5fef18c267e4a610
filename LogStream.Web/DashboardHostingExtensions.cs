using System.Text.Json;
using LogStream.Web.Cluster;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LogStream.Web;

public static class DashboardHostingExtensions
{
    public static WebApplicationBuilder AddLogStreamDashboard(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddRazorPages();

        // One try per node with a short timeout, then the next node: the default retrying handler
        // would hold the page on a dead node for many seconds.
#pragma warning disable EXTEXP0001 // experimental, but the supported way to opt one client out of the defaults
        services.AddHttpClient(ClusterClient.HttpClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        services.AddSingleton<ClusterClient>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        return builder;
    }

    public static WebApplication MapDashboardApi(this WebApplication app)
    {
        app.MapGet("/api/cluster", (ClusterClient client, CancellationToken ct) => client.GetClusterAsync(ct))
            .WithSummary("The cluster as one reachable node sees it (what the page shows).");
        return app;
    }
}
