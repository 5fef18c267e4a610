using LogStream.Testing;

namespace LogStream.Cluster.Tests;

/// <summary>The whole app host (Redis, node-0..2, web), without Prometheus, started once for the collection.</summary>
public sealed class ClusterFixture : AppHostFixture<Projects.LogStream_AppHost>
{
    protected override IEnumerable<string> Arguments => ["LogStream:Observability=off"];
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
