using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LogStream.Node.Membership;

/// <summary>
/// Healthy while the member table answers; Degraded (still HTTP 200, still serving) while it does not,
/// because reads and writes go on with the last known ring.
/// </summary>
public sealed class MembershipHealthCheck(MembershipView view) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = view.Current;
        var data = new Dictionary<string, object>
        {
            ["members"] = state.Snapshot.Members.Length,
            ["snapshot_at"] = state.Snapshot.TakenAt == DateTimeOffset.MinValue ? "never" : state.Snapshot.TakenAt.ToString("O"),
        };
        if (!state.Degraded)
            return Task.FromResult(HealthCheckResult.Healthy("membership store reachable", data));

        var since = state.LastContact is { } contact ? $"last contact {contact:O}" : "never reached";
        return Task.FromResult(HealthCheckResult.Degraded(
            $"membership store unreachable ({state.LastError}); {since}; serving with the last known cluster view", data: data));
    }
}
