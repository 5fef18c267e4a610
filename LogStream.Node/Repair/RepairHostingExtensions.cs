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
        services.AddSingleton(sp =>
        {
            var trees = ActivatorUtilities.CreateInstance<MerkleTrees>(sp);
            sp.GetRequiredService<MemoryLedger>().Register("merkle_trees", () => trees.Bytes);
            return trees;
        });
        services.AddSingleton<IStorageObserver>(sp => sp.GetRequiredService<MerkleTrees>());
        services.AddSingleton(sp =>
        {
            var views = ActivatorUtilities.CreateInstance<BucketViews>(sp);
            sp.GetRequiredService<MemoryLedger>().Register("digest_indexes", () => views.Bytes);
            return views;
        });
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
