using LogStream.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LogStream.Node.Storage;

/// <summary>Unhealthy after an fsync failure (the store refuses writes until the node restarts).</summary>
public sealed class StorageHealthCheck(SegmentLogStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(store.Failed
            ? HealthCheckResult.Unhealthy("fsync failed: the log store refuses writes until the node restarts.")
            : HealthCheckResult.Healthy());
}
