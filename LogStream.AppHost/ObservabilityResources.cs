namespace LogStream.AppHost;

/// <summary>Which of Prometheus and Grafana the app host runs, how, and why.</summary>
/// <param name="Prometheus">Whether a Prometheus runs.</param>
/// <param name="PrometheusInContainer">True: the prom/prometheus container; false: the local <c>prometheus</c> executable.</param>
/// <param name="Grafana">Whether a Grafana container runs.</param>
/// <param name="Reason">What was found, for the console line.</param>
public sealed record ObservabilityChoice(bool Prometheus, bool PrometheusInContainer, bool Grafana, string? PrometheusExecutable, string Reason)
{
    /// <summary>Containers reach the nodes through the host's gateway address, not its loopback.</summary>
    public bool NodesListenOnAllInterfaces => Prometheus && PrometheusInContainer;
}

/// <summary>
/// Prometheus and Grafana beside the cluster: containers where a container engine answers (Prometheus scraping the nodes,
/// Grafana provisioned from deploy/grafana with the LogStream dashboard); otherwise a local <c>prometheus</c> executable
/// where one is installed (Debian's package), with a configuration generated for the nodes' actual ports.
/// </summary>
public static class ObservabilityResources
{
    public const string PrometheusName = "prometheus";
    public const string GrafanaName = "grafana";
    public const string PrometheusImage = "prom/prometheus";
    public const string PrometheusTag = "v2.53.2";
    public const string GrafanaImage = "grafana/grafana";
    public const string GrafanaTag = "11.2.0";

    /// <summary>The scrape interval of the app host's Prometheus.</summary>
    public static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(5);

    public static ObservabilityChoice Choose(AppHostSettings settings)
    {
        if (settings.Observability == "off")
            return new ObservabilityChoice(false, false, false, null, "LogStream:Observability=off");
        // Asked for by name, containers are added whatever the probe says (without an engine Aspire shows them unhealthy).
        if (settings.Observability == "containers")
            return new ObservabilityChoice(true, true, true, null, "LogStream:Observability=containers");
        string why;
        if (settings.Observability == "auto")
        {
            if (MembershipRedis.ContainerEngineAnswers(out var engineReason))
                return new ObservabilityChoice(true, true, true, null, engineReason);
            why = $"no container engine ({engineReason})";
        }
        else
        {
            why = "LogStream:Observability=local";
        }
        var prometheus = MembershipRedis.FindOnPath("prometheus");
        return prometheus is null
            ? new ObservabilityChoice(false, false, false, null, $"{why} and no prometheus on PATH (apt-get install prometheus)")
            : new ObservabilityChoice(true, false, false, prometheus, $"{why}; found {prometheus} (no Grafana without containers)");
    }

    public static void AddObservability(
        this IDistributedApplicationBuilder builder,
        IReadOnlyList<IResourceBuilder<ProjectResource>> nodes,
        AppHostSettings settings,
        ObservabilityChoice choice)
    {
        Console.WriteLine($"[logstream] Prometheus/Grafana: " + (choice.Prometheus
            ? (choice.PrometheusInContainer ? "containers" : "local prometheus executable") + (choice.Grafana ? " + Grafana" : "")
            : "none") + $" — {choice.Reason}");
        if (!choice.Prometheus)
            return;

        var configDirectory = Path.Combine(settings.DataRoot, "prometheus");
        Directory.CreateDirectory(configDirectory);
        var configFile = Path.Combine(configDirectory, "prometheus.yml");
        var port = settings.PrometheusPort ?? MembershipRedis.FreeTcpPort();
        var targetHost = choice.PrometheusInContainer ? "host.docker.internal" : "localhost";

        // Written again just before Prometheus starts, when every node's port is known (free ports in tests).
        async Task WriteConfigAsync(CancellationToken cancellationToken)
        {
            var targets = new List<(string, string)>();
            foreach (var node in nodes)
            {
                var nodePort = await node.GetEndpoint("http").Property(EndpointProperty.TargetPort).GetValueAsync(cancellationToken);
                targets.Add((node.Resource.Name, $"{targetHost}:{nodePort}"));
            }
            await File.WriteAllTextAsync(configFile, PrometheusConfig.Render(targets, ScrapeInterval), cancellationToken);
        }

        if (!settings.FreePorts)
        {
            // A container's bind mount needs the file before the container exists.
            File.WriteAllText(configFile, PrometheusConfig.Render(
                nodes.Select((n, i) => (n.Resource.Name, $"{targetHost}:{settings.NodePort(i)}")), ScrapeInterval));
        }

        IResourceBuilder<IResource> prometheus;
        EndpointReference prometheusEndpoint;
        if (choice.PrometheusInContainer)
        {
            var container = builder.AddContainer(PrometheusName, PrometheusImage, PrometheusTag)
                .WithBindMount(configDirectory, "/etc/logstream", isReadOnly: true)
                .WithArgs("--config.file=/etc/logstream/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.enable-lifecycle")
                .WithContainerRuntimeArgs("--add-host=host.docker.internal:host-gateway")
                .WithHttpEndpoint(port: port, targetPort: 9090, name: "http")
                .WithHttpHealthCheck("/-/ready")
                .OnBeforeResourceStarted((_, _, ct) => WriteConfigAsync(ct));
            foreach (var node in nodes)
                container.WaitFor(node);
            prometheus = container;
            prometheusEndpoint = container.GetEndpoint("http");
        }
        else
        {
            var tsdb = Path.Combine(configDirectory, "data");
            var executable = builder.AddExecutable(PrometheusName, choice.PrometheusExecutable!, configDirectory,
                    $"--config.file={configFile}", $"--storage.tsdb.path={tsdb}", $"--web.listen-address=127.0.0.1:{port}",
                    "--storage.tsdb.retention.time=2d")
                .WithHttpEndpoint(port: port, targetPort: port, name: "http", isProxied: false)
                .WithHttpHealthCheck("/-/ready")
                .OnBeforeResourceStarted((_, _, ct) => WriteConfigAsync(ct));
            foreach (var node in nodes)
                executable.WaitFor(node);
            prometheus = executable;
            prometheusEndpoint = executable.GetEndpoint("http");
        }

        if (choice.Grafana)
        {
            var grafanaRoot = Path.Combine(FindRepositoryRoot(builder.AppHostDirectory), "deploy", "grafana");
            builder.AddContainer(GrafanaName, GrafanaImage, GrafanaTag)
                .WithBindMount(Path.Combine(grafanaRoot, "provisioning"), "/etc/grafana/provisioning", isReadOnly: true)
                .WithBindMount(Path.Combine(grafanaRoot, "dashboards"), "/var/lib/grafana/dashboards", isReadOnly: true)
                .WithEnvironment("PROMETHEUS_URL", prometheusEndpoint)
                .WithEnvironment("GF_AUTH_ANONYMOUS_ENABLED", "true")
                .WithEnvironment("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer")
                .WithEnvironment("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "/var/lib/grafana/dashboards/logstream.json")
                .WithHttpEndpoint(port: settings.GrafanaPort, targetPort: 3000, name: "http")
                .WithHttpHealthCheck("/api/health")
                .WaitFor(prometheus);
        }
    }

    private static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "deploy", "grafana")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"deploy/grafana not found above {start}.");
    }
}
