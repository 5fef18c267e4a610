using Microsoft.Extensions.Configuration;

namespace LogStream.AppHost;

/// <summary>
/// Settings of the local cluster, from the app host's configuration (appsettings, environment
/// <c>LogStream__BasePort</c>, or arguments <c>LogStream:BasePort=0</c>).
/// </summary>
/// <param name="BasePort">node-i listens on BasePort+i, the dashboard on BasePort+100, node-i's replication port on BasePort+200+i, a local redis-server or Garnet on BasePort+280. 0: every port is free-chosen (tests).</param>
/// <param name="NodeCount">How many storage nodes (node-0 … node-N-1).</param>
/// <param name="DataRoot">Where node-i keeps its data (DataRoot/node-i).</param>
/// <param name="Chaos">Whether the chaos actions (really losing data) are enabled on the nodes.</param>
/// <param name="ClusterSecret">Shared secret of the nodes' internal calls; a random one per run when not configured.</param>
/// <param name="Observability">Prometheus and Grafana: <c>auto</c> (containers where a container engine answers, else a local
/// <c>prometheus</c> executable where installed, else none), <c>containers</c>, <c>local</c> or <c>off</c>.</param>
/// <param name="DashboardAccessKey">When set (<c>LogStream:Dashboard:AccessKey</c>), the dashboard needs it (login or header); unset locally by default.</param>
public sealed record AppHostSettings(int BasePort, int NodeCount, string DataRoot, bool Chaos, string? ClusterSecret, string Observability = "auto",
    string? DashboardAccessKey = null)
{
    public const int DefaultBasePort = 5100;

    public static AppHostSettings From(IConfiguration configuration, string appHostDirectory)
    {
        var section = configuration.GetSection("LogStream");
        var basePort = section.GetValue("BasePort", DefaultBasePort);
        if (basePort is < 0 or > 65000)
            throw new InvalidOperationException($"LogStream:BasePort must be 0 (free ports) or between 1 and 65000, not {basePort}.");
        var nodeCount = section.GetValue("NodeCount", 3);
        if (nodeCount is < 1 or > 50)
            throw new InvalidOperationException($"LogStream:NodeCount must be between 1 and 50, not {nodeCount}.");
        var dataRoot = section["DataRoot"];
        dataRoot = string.IsNullOrWhiteSpace(dataRoot)
            ? Path.Combine(appHostDirectory, ".data")
            : Path.GetFullPath(dataRoot, appHostDirectory);
        var observability = (section["Observability"] ?? "auto").Trim().ToLowerInvariant();
        if (observability is not ("auto" or "containers" or "local" or "off"))
            throw new InvalidOperationException($"LogStream:Observability must be auto, containers, local or off, not '{observability}'.");
        // Chaos defaults to on here only: Run Demo's loss is what gives the local cluster's anti-entropy work to show.
        return new AppHostSettings(basePort, nodeCount, dataRoot, section.GetValue("Chaos", true), section["ClusterSecret"], observability,
            section["Dashboard:AccessKey"]);
    }

    public bool FreePorts => BasePort == 0;

    public int? NodePort(int index) => FreePorts ? null : BasePort + index;

    public int? WebPort => FreePorts ? null : BasePort + 100;

    public int? ReplicationPort(int index) => FreePorts ? null : BasePort + 200 + index;

    public int? RedisPort => FreePorts ? null : BasePort + 280;

    /// <summary>Prometheus (local executable or container) on BasePort+290 (5390).</summary>
    public int? PrometheusPort => FreePorts ? null : BasePort + 290;

    /// <summary>Grafana (container) on BasePort+300 (5400).</summary>
    public int? GrafanaPort => FreePorts ? null : BasePort + 300;

    /// <summary>Tells the person who ran <c>dotnet run</c> where everything is.</summary>
    public void PrintWhereToLook(IConfiguration configuration, ObservabilityChoice? observability = null)
    {
        if (FreePorts)
        {
            Console.WriteLine("[logstream] free ports chosen: see the Aspire dashboard for the addresses.");
            return;
        }
        var aspireDashboard = configuration["ASPNETCORE_URLS"]?.Split(';')[0] ?? "(not configured)";
        Console.WriteLine($"[logstream] LogStream dashboard: http://localhost:{WebPort}" +
                          (string.IsNullOrEmpty(DashboardAccessKey) ? "" : "  (log in with LogStream:Dashboard:AccessKey)"));
        for (var i = 0; i < NodeCount; i++)
            Console.WriteLine($"[logstream] node-{i}: http://localhost:{NodePort(i)}  (API /api/logs, /api/cluster; Prometheus /metrics)");
        Console.WriteLine($"[logstream] Aspire dashboard (traces, logs, metrics): {aspireDashboard}");
        if (observability is { } choice)
        {
            if (choice.Prometheus)
                Console.WriteLine($"[logstream] Prometheus: http://localhost:{PrometheusPort}");
            if (choice.Grafana)
                Console.WriteLine($"[logstream] Grafana: http://localhost:{GrafanaPort}  (dashboard \"LogStream\", anonymous viewer)");
        }
        Console.WriteLine($"[logstream] data: {DataRoot}");
    }
}
