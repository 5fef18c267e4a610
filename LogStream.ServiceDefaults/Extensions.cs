using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every LogStream service shares: OpenTelemetry, health endpoints, service discovery and
/// resilient outgoing HTTP. Kept in one place so nodes and the dashboard behave alike.
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Readiness endpoint (Kubernetes readiness probe).</summary>
    public const string HealthPath = "/health";

    /// <summary>Liveness endpoint (Kubernetes liveness probe): only checks tagged <see cref="LiveTag"/>.</summary>
    public const string AlivePath = "/alive";

    public const string LiveTag = "live";

    /// <summary>
    /// Marks a request as machine polling (the dashboard's once-a-second snapshot): served as any other, but not traced,
    /// like health probes and scrapes, so that it does not bury the interesting traces.
    /// </summary>
    public const string BackgroundPollHeader = "X-LogStream-Poll";

    /// <summary>Meters and activity sources of every LogStream component start with this prefix.</summary>
    public const string TelemetryPrefix = "LogStream";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(TelemetryPrefix + ".*")
                // No response cache: a scrape always sees the current values (tests read right after acting).
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

        // OTLP goes to the Aspire dashboard (or any collector) only when an endpoint is configured. Traces have no
        // other exporter, so without one they are not collected at all: an activity per request and per internal
        // call that nobody reads cost the nodes ~10% of their CPU at one record per request (docs/performance.md).
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry
                .WithTracing(tracing => tracing
                    .AddSource(builder.Environment.ApplicationName)
                    .AddSource(TelemetryPrefix + ".*")
                    .AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                        !IsProbeOrScrape(ctx.Request.Path) && !ctx.Request.Headers.ContainsKey(BackgroundPollHeader))
                    .AddHttpClientInstrumentation())
                .UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (readiness: every check; Degraded still answers 200 so a degraded node keeps serving, Unhealthy
    /// answers 503)
    /// and <c>/alive</c> (liveness only) in every environment: Kubernetes probes need both.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthPath, new HealthCheckOptions { ResponseWriter = WriteHealthJsonAsync });
        app.MapHealthChecks(AlivePath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(LiveTag),
            ResponseWriter = WriteHealthJsonAsync,
        });
        return app;
    }

    /// <summary>Prometheus text exposition of every LogStream meter at <c>/metrics</c>.</summary>
    public static WebApplication MapPrometheusMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint();
        return app;
    }

    private static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments(HealthPath) || path.StartsWithSegments(AlivePath) || path.StartsWithSegments("/metrics");

    private static Task WriteHealthJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new Dictionary<string, object?>
        {
            ["status"] = report.Status.ToString(),
            ["duration_ms"] = Math.Round(report.TotalDuration.TotalMilliseconds, 2),
            ["checks"] = report.Entries.ToDictionary(
                e => e.Key,
                e => new Dictionary<string, object?>
                {
                    ["status"] = e.Value.Status.ToString(),
                    ["description"] = e.Value.Description,
                    ["data"] = e.Value.Data.Count == 0 ? null : e.Value.Data,
                }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
