using LogStream.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Storage;

/// <summary>
/// Unhealthy after an fsync failure (the store refuses writes until the node restarts); Degraded while the node's
/// structures hold more memory than <c>LogStream:Storage:MemoryBudgetBytes</c>, naming the largest of them, so an
/// operator learns of too many open buckets before the kernel kills the process.
/// </summary>
public sealed class StorageHealthCheck(SegmentLogStore store, MemoryLedger ledger, IOptions<StorageOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (store.Failed)
            return Task.FromResult(HealthCheckResult.Unhealthy("fsync failed: the log store refuses writes until the node restarts."));
        var structures = ledger.Snapshot();
        var used = structures.Sum(s => s.Bytes);
        var budget = options.Value.EffectiveMemoryBudgetBytes;
        if (used <= budget)
            return Task.FromResult(HealthCheckResult.Healthy());
        var memory = store.Memory();
        var largest = string.Join(", ", structures.Take(3).Select(s => $"{s.Structure} {Mib(s.Bytes)}"));
        return Task.FromResult(HealthCheckResult.Degraded(
            $"memory: {Mib(used)} used of the {Mib(budget)} budget (LogStream:Storage:MemoryBudgetBytes); largest: {largest}; " +
            $"{memory.OpenBuckets} buckets are open with {memory.OpenRecords} records (about 30 bytes each until their bucket is sealed)."));
    }

    private static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):F1} MiB";
}
