using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LogStream.Web;
using LogStream.Web.Cluster;
using LogStream.Web.Demo;
using LogStream.Web.Diagnostics;
using LogStream.Web.Snapshot;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Web.Tests;

/// <summary>
/// Three nodes answering the public API in memory (http://node-0 … http://node-2): the cluster view, each node's
/// <c>/api/node</c>, writes, the ERROR count query and chaos. A node can be taken down (its calls fail to connect).
/// </summary>
public sealed class FakeCluster : HttpMessageHandler
{
    public static readonly DateTimeOffset Epoch = new(2026, 11, 26, 15, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Time { get; } = new(Epoch);

    public ConcurrentDictionary<string, NodeState> Nodes { get; } = new()
    {
        ["node-0"] = new NodeState(),
        ["node-1"] = new NodeState(),
        ["node-2"] = new NodeState(),
    };

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Calls that carried the background-poll header (untraced on the nodes).</summary>
    public ConcurrentQueue<string> PollCalls { get; } = new();

    /// <summary>Calls without the background-poll header: what a dashboard request (a button, a query) made the nodes do.</summary>
    public ConcurrentQueue<string> ActionCalls { get; } = new();

    /// <summary>When set, every call must carry it in <c>X-Api-Key</c> (as nodes with <c>LogStream:Security:ApiKeys</c> do); else 401.</summary>
    public string? RequiredApiKey { get; set; }

    public long ErrorCount { get; set; }

    public sealed class NodeState
    {
        public bool Down { get; set; }
        public string State { get; set; } = "up";
        public long Ingested;
        public long Stored;
        public long RepairsCompleted;
        public long RecordsRepaired;
        public long HintsPending;
        public long Lost;
        public string Root { get; set; } = "00000000000000aa";
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var node = request.RequestUri!.Host;
        var path = request.RequestUri.AbsolutePath;
        Calls.Enqueue($"{request.Method} {node}{request.RequestUri.PathAndQuery}");
        if (request.Headers.Contains(Microsoft.Extensions.Hosting.ServiceDefaultsExtensions.BackgroundPollHeader))
            PollCalls.Enqueue($"{request.Method} {node}{path}");
        else
            ActionCalls.Enqueue($"{request.Method} {node}{request.RequestUri.PathAndQuery}");
        if (!Nodes.TryGetValue(node, out var state) || state.Down)
            throw new HttpRequestException($"Connection refused ({node})");
        if (RequiredApiKey is { } key
            && !(request.Headers.TryGetValues("X-Api-Key", out var presented) && presented.SequenceEqual([key])))
        {
            return new HttpResponseMessage(HttpStatusCode.Unauthorized)
            {
                Content = new StringContent("""{"title":"API key required","status":401}""", Encoding.UTF8, "application/problem+json"),
            };
        }

        switch (request.Method.Method, path)
        {
            case ("GET", "/api/cluster"):
                return Json(ClusterJson(node));
            case ("GET", "/api/node"):
                return Json(NodeJson(node, state));
            case ("GET", "/api/logs"):
                return Json(new JsonObject { ["records"] = new JsonArray(), ["count"] = ErrorCount, ["partial"] = false });
            case ("POST", "/api/logs"):
                var records = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!.AsArray();
                Interlocked.Add(ref state.Ingested, records.Count);
                foreach (var n in Nodes.Values)
                    Interlocked.Add(ref n.Stored, records.Count);
                var partitions = records.Select(r => "source:" + r!["source"]!.GetValue<string>()).Distinct()
                    .Select(p => (JsonNode)new JsonObject { ["partition"] = p }).ToArray();
                return Json(new JsonObject { ["accepted"] = records.Count, ["partitions"] = new JsonArray(partitions) });
            case ("POST", "/api/chaos/lose"):
                var removed = Math.Max(1, state.Stored / 20);
                state.Lost += removed;
                state.Stored -= removed;
                return Json(new JsonObject { ["removed"] = removed, ["buckets"] = 2 });
            case ("POST", "/api/repair"):
                Interlocked.Increment(ref state.RepairsCompleted);
                return Json(new JsonObject { ["repairs_completed"] = 1, ["records_sent"] = 3, ["records_received"] = 0, ["buckets_differing"] = 1 });
            default:
                return new HttpResponseMessage(HttpStatusCode.NotFound);
        }
    }

    private JsonObject ClusterJson(string answering) => new()
    {
        ["cluster"] = "logstream",
        ["node_id"] = answering,
        ["degraded"] = false,
        ["snapshot_at"] = Time.GetUtcNow().ToString("O"),
        ["replication_factor"] = 3,
        ["members"] = new JsonArray(Nodes.OrderBy(n => n.Key).Select(n => (JsonNode)new JsonObject
        {
            ["id"] = n.Key,
            ["address"] = $"http://{n.Key}",
            ["zone"] = null,
            ["state"] = n.Value.State,
            ["last_heartbeat"] = Time.GetUtcNow().AddSeconds(n.Value.State == "up" ? -0.5 : -12).ToString("O"),
            ["incarnation"] = 1,
            ["ownership"] = 0.333,
        }).ToArray()),
        ["ring"] = new JsonObject { ["virtual_nodes"] = 4, ["fingerprint"] = "ring-1", ["tokens"] = null },
        ["partitions"] = new JsonArray(new JsonObject
        {
            ["partition"] = "source:checkout",
            ["token"] = "9223372036854775808",
            ["replicas"] = new JsonArray("node-1", "node-2", "node-0"),
            ["records"] = 10,
            ["buckets"] = 1,
        }),
    };

    private static JsonObject NodeJson(string id, NodeState state) => new()
    {
        ["id"] = id,
        ["zone"] = null,
        ["address"] = $"http://{id}",
        ["stats"] = new JsonObject
        {
            ["records_ingested"] = state.Ingested,
            ["records_stored"] = state.Stored,
            ["disk_bytes"] = state.Stored * 100,
            ["hints_pending"] = state.HintsPending,
            ["quorum_failures"] = 0,
            ["repairs_completed"] = state.RepairsCompleted,
            ["records_repaired"] = state.RecordsRepaired,
            ["read_repaired"] = 0,
            ["last_repair"] = null,
        },
        ["partitions"] = new JsonArray(new JsonObject
        {
            ["partition"] = "source:checkout",
            ["bucket"] = "2026-11-26T15:00:00Z",
            ["records"] = state.Stored,
            ["root"] = state.Root,
            ["sealed"] = false,
        }),
    };

    private static HttpResponseMessage Json(JsonNode body) =>
        new(HttpStatusCode.OK) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };

    /// <summary>The dashboard's services wired to this fake cluster.</summary>
    public Dashboard CreateDashboard(bool chaos = true, int demoRecords = 100)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var http = new FakeHttpClientFactory(this);
        var dashboardOptions = Options.Create(new DashboardOptions { Seeds = ["http://node-0"] });
        var metrics = new DashboardMetrics(meterFactory, Time);
        var clusterClient = new ClusterClient(http, dashboardOptions, Time, NullLogger<ClusterClient>.Instance);
        var nodeClient = new NodeClient(http, dashboardOptions);
        var store = new SnapshotStore(Time);
        var refresher = new SnapshotRefresher(clusterClient, nodeClient, store, metrics, Options.Create(new SnapshotOptions()),
            dashboardOptions, Time, NullLogger<SnapshotRefresher>.Instance);
        var demo = new DemoRunner(clusterClient, nodeClient, metrics, Options.Create(new DemoOptions { Records = demoRecords, BatchRecords = 40 }),
            Options.Create(new ChaosOptions { Enabled = chaos }), dashboardOptions, Time, NullLogger<DemoRunner>.Instance);
        return new Dashboard(store, refresher, demo, meterFactory, services);
    }

    public sealed record Dashboard(SnapshotStore Store, SnapshotRefresher Refresher, DemoRunner Demo, IMeterFactory MeterFactory, IDisposable Services);

    private sealed class FakeHttpClientFactory(HttpMessageHandler handler) : IHttpClientFactory
    {
        // As registered: the background-poll marker in front of the (fake) network.
        public HttpClient CreateClient(string name) => new(new BackgroundPoll { InnerHandler = handler }, disposeHandler: false);
    }
}
