using LogStream.Storage;

namespace LogStream.Node.Repair;

public static class RepairHostingExtensions
{
    /// <summary>Merkle trees (a storage observer), anti-entropy (a hosted service) and the chaos actions.</summary>
    public static IHostApplicationBuilder AddRepair(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RepairOptions>().BindConfiguration(RepairOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ChaosOptions>().BindConfiguration(ChaosOptions.SectionName);
        services.AddSingleton<MerkleTrees>();
        services.AddSingleton<IStorageObserver>(sp => sp.GetRequiredService<MerkleTrees>());
        services.AddSingleton<BucketViews>();
        services.AddSingleton<RepairMetrics>();
        services.AddSingleton<RepairScheduler>();
        services.AddSingleton<AntiEntropy>();
        services.AddSingleton<Chaos>();
        services.AddHostedService<AntiEntropyService>();
        return builder;
    }

    /// <summary>The internal anti-entropy API (HTTP/2 only, i.e. on the Internal endpoint).</summary>
    public static IEndpointRouteBuilder MapRepairApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<RepairGrpcService>();
        return endpoints;
    }
}
