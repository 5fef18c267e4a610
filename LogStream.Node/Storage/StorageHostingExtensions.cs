using System.Diagnostics.Metrics;
using LogStream.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Storage;

public static class StorageHostingExtensions
{
    /// <summary>Name of the folder under <c>LogStream:DataDirectory</c> that holds the segments.</summary>
    public const string SegmentsFolder = "segments";

    /// <summary>
    /// Registers the local storage engine: <see cref="StorageOptions"/> (section <c>LogStream:Storage</c>, validated at
    /// start), <see cref="SegmentLogStore"/> as <see cref="ILogStore"/>, its <see cref="Partitioner"/>, metrics, the
    /// maintenance service (recovery at start, sealing, retention), the <see cref="MemoryLedger"/> every component reports
    /// its structures to, and the <c>storage</c> health check (fsync failures, the memory budget). Observers
    /// (<see cref="IStorageObserver"/>) registered in DI are called by the store.
    /// </summary>
    public static TBuilder AddLogStorage<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<MemoryLedger>();
        services.TryAddSingleton(sp => new StorageMetrics(sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<MemoryLedger>()));
        services.TryAddSingleton(sp => new SegmentLogStore(
            sp.GetRequiredService<IOptions<NodeOptions>>().Value.DataFolder(SegmentsFolder),
            sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<StorageMetrics>(),
            sp.GetRequiredService<ILogger<SegmentLogStore>>(),
            sp.GetServices<IStorageObserver>()));
        services.TryAddSingleton<ILogStore>(sp => sp.GetRequiredService<SegmentLogStore>());
        services.TryAddSingleton(sp => sp.GetRequiredService<SegmentLogStore>().Partitioner);
        services.TryAddSingleton<StorageMaintenanceService>();
        services.AddHostedService(sp => sp.GetRequiredService<StorageMaintenanceService>());
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage");
        return builder;
    }
}
