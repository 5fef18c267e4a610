using Microsoft.Extensions.DependencyInjection;

namespace LogStream.AppHost;

/// <summary>Debian's <c>redis-server</c> as a first-class resource: connection string, health check, references.</summary>
public sealed class RedisServerResource(string name, string workingDirectory)
    : ExecutableResource(name, "redis-server", workingDirectory), IResourceWithConnectionString
{
    private EndpointReference? _primary;

    public EndpointReference PrimaryEndpoint => _primary ??= new(this, "tcp");

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");
}

public static class RedisServerResourceExtensions
{
    public static IResourceBuilder<RedisServerResource> AddRedisServer(
        this IDistributedApplicationBuilder builder, string name, int port, string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var resource = new RedisServerResource(name, dataDirectory);
        string? connectionString = null;
        var healthKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddRedis(_ => connectionString!, name: healthKey);

        return builder.AddResource(resource)
            .WithEndpoint(name: "tcp", port: port, targetPort: port, scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add("--port");
                context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("--bind");
                context.Args.Add("127.0.0.1");
                // Membership is soft state that every node rewrites each second: no persistence needed.
                context.Args.Add("--save");
                context.Args.Add("");
                context.Args.Add("--appendonly");
                context.Args.Add("no");
                context.Args.Add("--dir");
                context.Args.Add(dataDirectory);
            })
            .OnBeforeResourceStarted(async (r, _, ct) =>
                connectionString = await r.ConnectionStringExpression.GetValueAsync(ct))
            .WithHealthCheck(healthKey);
    }
}
