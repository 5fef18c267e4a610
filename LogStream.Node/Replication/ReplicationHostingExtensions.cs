using LogStream.Node.Replication.Hints;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Replication;

public static class ReplicationHostingExtensions
{
    /// <summary>Largest gRPC message between replicas (a batch, or a read answer).</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    /// <summary>The write coordinator, the replica client and the internal gRPC service.</summary>
    public static IHostApplicationBuilder AddReplication(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ReplicationOptions>().BindConfiguration(ReplicationOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ClusterSecret>();
        services.AddSingleton<ReplicationMetrics>();
        services.AddSingleton<LocalReplica>();
        services.AddSingleton<ReplicaClient>();
        services.AddSingleton<IPeerClient>(sp => sp.GetRequiredService<ReplicaClient>());
        services.AddSingleton<IHintDelivery>(sp => sp.GetRequiredService<ReplicaClient>());
        services.AddSingleton<WriteCoordinator>();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<ClusterSecretInterceptor>();
            grpc.MaxReceiveMessageSize = MaxMessageBytes;
            grpc.MaxSendMessageSize = MaxMessageBytes;
        });
        return builder;
    }

    /// <summary>The internal replica API. Reachable over HTTP/2 only, i.e. on the Internal endpoint.</summary>
    public static IEndpointRouteBuilder MapReplicaApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<ReplicaGrpcService>();
        return endpoints;
    }
}
