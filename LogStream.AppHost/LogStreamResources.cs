namespace LogStream.AppHost;

/// <summary>The storage nodes and the dashboard as Aspire resources.</summary>
public static class LogStreamResources
{
    /// <summary>The Host names the local dashboard answers to (ASP.NET Core host filtering).</summary>
    public const string LocalHostNames = "localhost;127.0.0.1;[::1]";

    /// <summary>
    /// node-0 … node-N-1: named project resources (not WithReplicas) because a storage node needs a stable id,
    /// its own port and its own data directory.
    /// </summary>
    public static IReadOnlyList<IResourceBuilder<ProjectResource>> AddStorageNodes(
        this IDistributedApplicationBuilder builder,
        IResourceBuilder<IResourceWithConnectionString> redis,
        AppHostSettings settings,
        bool listenOnAllInterfaces = false)
    {
        var clusterSecret = string.IsNullOrWhiteSpace(settings.ClusterSecret)
            ? Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))
            : settings.ClusterSecret;
        var nodes = new List<IResourceBuilder<ProjectResource>>();
        for (var i = 0; i < settings.NodeCount; i++)
        {
            var nodeId = $"node-{i}";
            var dataDirectory = Path.Combine(settings.DataRoot, nodeId);
            var node = builder.AddProject<Projects.LogStream_Node>(nodeId, options => options.ExcludeKestrelEndpoints = true)
                .WithHttpEndpoint(port: settings.NodePort(i), name: "http", isProxied: false)
                .WithHttpEndpoint(port: settings.ReplicationPort(i), name: "internal", isProxied: false)
                .WithEnvironment("LogStream__NodeId", nodeId)
                .WithEnvironment("LogStream__DataDirectory", dataDirectory)
                .WithEnvironment("LogStream__Chaos__Enabled", settings.Chaos ? "true" : "false")
                .WithEnvironment("LogStream__Security__ClusterSecret", clusterSecret)
                .WithReference(redis)
                .WithHttpHealthCheck("/health");
            // The node names its listeners through Kestrel configuration; point them at Aspire's endpoints.
            var publicEndpoint = node.GetEndpoint("http");
            var internalEndpoint = node.GetEndpoint("internal");
            // Containers (Prometheus) reach the nodes through the host's gateway address, not its loopback: then the public
            // listener takes every interface and the node still advertises localhost to its peers and the dashboard.
            var listenHost = listenOnAllInterfaces ? "0.0.0.0" : "localhost";
            if (listenOnAllInterfaces)
            {
                node.WithEnvironment("LogStream__AdvertiseAddress",
                    ReferenceExpression.Create($"http://localhost:{publicEndpoint.Property(EndpointProperty.TargetPort)}"));
            }
            node.WithEnvironment("Kestrel__Endpoints__Public__Url",
                    ReferenceExpression.Create($"http://{listenHost}:{publicEndpoint.Property(EndpointProperty.TargetPort)}"))
                .WithEnvironment("Kestrel__Endpoints__Internal__Url",
                    ReferenceExpression.Create($"http://localhost:{internalEndpoint.Property(EndpointProperty.TargetPort)}"));
            nodes.Add(node);
        }
        return nodes;
    }

    /// <summary>
    /// The Razor Pages dashboard; it reaches the nodes through service discovery. Locally it answers only to loopback
    /// names, so a web page cannot reach it through a DNS name rebound to 127.0.0.1 (there, it would be same-origin).
    /// Chaos follows <c>LogStream:Chaos</c>, on by default here: Run Demo's loss is what gives anti-entropy work.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddDashboard(
        this IDistributedApplicationBuilder builder,
        IReadOnlyList<IResourceBuilder<ProjectResource>> nodes,
        AppHostSettings settings)
    {
        var web = builder.AddProject<Projects.LogStream_Web>("web")
            .WithHttpEndpoint(port: settings.WebPort, name: "http", isProxied: false)
            .WithHttpHealthCheck("/health")
            .WithEnvironment("LogStream__Chaos__Enabled", settings.Chaos ? "true" : "false")
            .WithEnvironment("AllowedHosts", LocalHostNames)
            .WithExternalHttpEndpoints();
        // The dashboard validates the key at start (16 characters or more) and names it if it is too short.
        if (!string.IsNullOrEmpty(settings.DashboardAccessKey))
            web.WithEnvironment("LogStream__Dashboard__AccessKey", settings.DashboardAccessKey);
        for (var i = 0; i < nodes.Count; i++)
        {
            web.WithReference(nodes[i]).WithEnvironment($"LogStream__Seeds__{i}", $"http://{nodes[i].Resource.Name}");
        }
        return web;
    }
}
