using System.Globalization;
using System.Text.Json;
using LogStream.Web.Cluster;
using LogStream.Web.Demo;
using LogStream.Web.Diagnostics;
using LogStream.Web.Security;
using LogStream.Web.Snapshot;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LogStream.Web.Api;

/// <summary>
/// The web's JSON: <c>GET /metrics</c> (the snapshot the page polls), the cluster view, the ring picture, the ERROR
/// query, and the actions behind the buttons (Run Demo, Repair now, chaos). All of it declares the dashboard's protection
/// (<see cref="DashboardSecurity.RequireDashboardAccess"/>): no request from another site, actions need the page's request
/// token or the access key, and the access key or a login when one is configured.
/// </summary>
public static class DashboardApi
{
    private static readonly string[] ConsistencyLevels = ["ONE", "QUORUM", "ALL"];

    public static IEndpointRouteBuilder MapDashboardApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/metrics", GetSnapshot)
            .WithName("GetSnapshot")
            .WithSummary("The dashboard's JSON snapshot, refreshed every second: last_update, ingested, repairs_completed, per-node figures.")
            .RequireDashboardAccess();

        var api = endpoints.MapGroup("/api").RequireDashboardAccess();
        api.MapGet("/token", GetRequestToken)
            .WithSummary("A request token (and its cookie) for scripts that call the actions without an access key.");
        api.MapGet("/cluster", GetCluster)
            .WithSummary("The cluster as one reachable node sees it.");
        api.MapGet("/ring", GetRing)
            .WithSummary("Every member's ring tokens as fractions of a turn (for the ring picture).");
        api.MapGet("/errors", QueryErrors)
            .WithSummary("ERROR-and-above records across every partition, through one node, at the chosen consistency.");
        api.MapPost("/demo/run", RunDemo)
            .WithSummary("Run Demo: writes a fresh batch of logs at QUORUM and, where chaos is enabled, makes one replica lose some records.");
        api.MapPost("/repair", Repair)
            .WithSummary("Repair now: asks every up node (or ?node=) to run one anti-entropy round, one after the other.");
        api.MapPost("/chaos/lose", Lose)
            .WithSummary("Makes one node lose a fraction of its local records (only where chaos is enabled).");
        return endpoints;
    }

    public static Ok<DashboardSnapshot> GetSnapshot(SnapshotStore store, HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(store.Current);
    }

    public static Ok<RequestToken> GetRequestToken(IAntiforgery antiforgery, HttpContext context)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return TypedResults.Ok(new RequestToken(DashboardSecurity.RequestTokenHeader, tokens.RequestToken!));
    }

    public static Task<ClusterReport> GetCluster(ClusterClient client, CancellationToken cancellationToken) =>
        client.GetClusterAsync(cancellationToken);

    public static async Task<Results<Ok<RingPicture>, ProblemHttpResult>> GetRing(
        RingCache ring, SnapshotStore store, CancellationToken cancellationToken)
    {
        var picture = await ring.GetAsync(store.Current.Cluster?.RingFingerprint, cancellationToken);
        return picture is null
            ? TypedResults.Problem("No node answered with its ring tokens.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Ring unavailable")
            : TypedResults.Ok(picture);
    }

    public static async Task<Results<Ok<ErrorQueryResult>, ProblemHttpResult>> QueryErrors(
        ClusterClient clusterClient,
        NodeClient nodeClient,
        IOptions<DashboardOptions> options,
        TimeProvider timeProvider,
        string? consistency,
        string? source,
        string? contains,
        int? limit,
        int? minutes,
        CancellationToken cancellationToken)
    {
        var level = string.IsNullOrWhiteSpace(consistency) ? "QUORUM" : consistency.Trim().ToUpperInvariant();
        if (!ConsistencyLevels.Contains(level))
            return BadParameter("consistency", $"'{consistency}' is not a consistency level: expected ONE, QUORUM or ALL");
        var take = limit ?? 50;
        if (take is < 1 or > 1000)
            return BadParameter("limit", "must be a whole number from 1 to 1000");
        var window = minutes ?? 60;
        if (window is < 1 or > 60 * 24 * 30)
            return BadParameter("minutes", "must be a whole number of minutes from 1 to 43200");

        using var activity = DashboardMetrics.ActionsActivitySource.StartActivity("errors.query");
        activity?.SetTag("logstream.consistency", level);
        var from = (timeProvider.GetUtcNow() - TimeSpan.FromMinutes(window)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var query = $"/api/logs?min_level=ERROR&from={from}&limit={take}&consistency={level}&allow_partial=true";
        if (!string.IsNullOrWhiteSpace(source))
            query += $"&source={Uri.EscapeDataString(source.Trim())}";
        if (!string.IsNullOrWhiteSpace(contains))
            query += $"&contains={Uri.EscapeDataString(contains)}";

        var cluster = await clusterClient.GetClusterAsync(cancellationToken);
        var tried = new List<string>();
        foreach (var member in cluster.Cluster?.Members.Where(m => m.State == "up") ?? [])
        {
            var answer = await nodeClient.GetAsync(member.Id, member.Address, query, options.Value.QueryTimeout, cancellationToken);
            if (answer is { Succeeded: true, Body: { } body })
                return TypedResults.Ok(new ErrorQueryResult(member.Id, level, window, body));
            // 503 with a body is a quorum that could not be reached: show what the node said rather than trying on.
            if (answer is { Status: 503, Body: { } partial })
                return TypedResults.Ok(new ErrorQueryResult(member.Id, level, window, partial));
            tried.Add($"{member.Id}: {answer.Error}");
        }
        return TypedResults.Problem(
            tried.Count == 0 ? "No node is up to answer the query." : string.Join("; ", tried),
            statusCode: StatusCodes.Status503ServiceUnavailable, title: "No node answered the query");
    }

    public static async Task<Results<Ok<DemoResult>, ProblemHttpResult>> RunDemo(DemoRunner runner, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(cancellationToken);
        return result.Succeeded
            ? TypedResults.Ok(result)
            : TypedResults.Problem(result.Summary, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Run Demo wrote nothing",
                extensions: new Dictionary<string, object?> { ["result"] = result });
    }

    public static async Task<Results<Ok<RepairReport>, ProblemHttpResult>> Repair(
        ClusterClient clusterClient,
        NodeClient nodeClient,
        DashboardMetrics metrics,
        IOptions<DashboardOptions> options,
        string? node,
        CancellationToken cancellationToken)
    {
        using var activity = DashboardMetrics.ActionsActivitySource.StartActivity("repair.now");
        var cluster = await clusterClient.GetClusterAsync(cancellationToken);
        var targets = cluster.Cluster?.Members.Where(m => m.State == "up" && (node is null || m.Id == node)).ToList() ?? [];
        if (targets.Count == 0)
        {
            return TypedResults.Problem(node is null ? "No node is up." : $"{node} is not an up member.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Nothing to repair with");
        }
        // One node after the other: rounds of all nodes at once would compete for the same two cores and disks.
        var rounds = new List<NodeRepair>();
        foreach (var member in targets)
        {
            var answer = await nodeClient.PostAsync(member.Id, member.Address, "/api/repair", options.Value.RepairTimeout, cancellationToken);
            metrics.RepairRequested(answer.Succeeded);
            rounds.Add(new NodeRepair(member.Id, answer.Succeeded, answer.Succeeded ? answer.Body : null,
                answer.Status == 404 ? $"{member.Id} has no POST /api/repair (answered 404)" : answer.Error));
        }
        var report = new RepairReport(
            rounds,
            RepairsCompleted: rounds.Sum(r => Number(r.Result, "repairs_completed")),
            RecordsSent: rounds.Sum(r => Number(r.Result, "records_sent")),
            RecordsReceived: rounds.Sum(r => Number(r.Result, "records_received")),
            BucketsDiffering: rounds.Sum(r => Number(r.Result, "buckets_differing")));
        return rounds.Any(r => r.Succeeded)
            ? TypedResults.Ok(report)
            : TypedResults.Problem(string.Join("; ", rounds.Select(r => r.Error)), statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "No node ran a repair round", extensions: new Dictionary<string, object?> { ["report"] = report });
    }

    public static async Task<Results<Ok<NodeAnswer>, ProblemHttpResult>> Lose(
        ClusterClient clusterClient,
        NodeClient nodeClient,
        DashboardMetrics metrics,
        IOptions<ChaosOptions> chaos,
        IOptions<DashboardOptions> options,
        string? node,
        double? fraction,
        CancellationToken cancellationToken)
    {
        if (!chaos.Value.Enabled)
            return TypedResults.Problem("Chaos actions are disabled (LogStream:Chaos:Enabled=false).", statusCode: StatusCodes.Status404NotFound, title: "Chaos disabled");
        var share = fraction ?? chaos.Value.LoseFraction;
        if (share is <= 0 or > 1)
            return BadParameter("fraction", "must be greater than 0 and at most 1");
        var cluster = await clusterClient.GetClusterAsync(cancellationToken);
        var member = cluster.Cluster?.Members.FirstOrDefault(m => m.Id == node);
        if (member is null)
            return BadParameter("node", $"'{node}' is not a member (members: {string.Join(", ", cluster.Cluster?.Members.Select(m => m.Id) ?? [])})");

        using var activity = DashboardMetrics.ActionsActivitySource.StartActivity("chaos.lose");
        activity?.SetTag("logstream.node", member.Id);
        var answer = await nodeClient.PostAsync(member.Id, member.Address,
            $"/api/chaos/lose?fraction={share.ToString(CultureInfo.InvariantCulture)}", options.Value.WriteTimeout, cancellationToken);
        metrics.ChaosRequested(answer.Succeeded);
        return answer.Succeeded
            ? TypedResults.Ok(answer)
            : TypedResults.Problem(answer.Error, statusCode: answer.Status is 404 or 0 ? StatusCodes.Status502BadGateway : answer.Status, title: $"{member.Id} did not lose records");
    }

    private static ProblemHttpResult BadParameter(string name, string why) =>
        TypedResults.Problem($"{name}: {why}", statusCode: StatusCodes.Status400BadRequest, title: "Bad parameter",
            extensions: new Dictionary<string, object?> { ["parameter"] = name });

    private static long Number(JsonElement? body, string name) =>
        body is { ValueKind: JsonValueKind.Object } b && b.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? value.GetInt64()
            : 0;
}

/// <summary>What a script sends with an action: <c>header_name: token</c>, with the antiforgery cookie of the same answer.</summary>
public sealed record RequestToken(string HeaderName, string Token);

/// <summary>The ERROR panel's answer: which node coordinated the query, and the node's own JSON (records, partial, …).</summary>
public sealed record ErrorQueryResult(string AnsweredBy, string Consistency, int Minutes, JsonElement Result);

/// <summary>What Repair now did on each node, and the sums.</summary>
public sealed record RepairReport(IReadOnlyList<NodeRepair> Nodes, long RepairsCompleted, long RecordsSent, long RecordsReceived, long BucketsDiffering);

public sealed record NodeRepair(string Node, bool Succeeded, JsonElement? Result, string? Error);
