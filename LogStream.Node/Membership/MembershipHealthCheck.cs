using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LogStream.Node.Membership;

/// <summary>
/// Unhealthy (HTTP 503: not ready) until the node has registered and read the member table once, because before that
/// it has no ring to coordinate with and peers do not know it; Healthy while the member table answers; Degraded (still
/// HTTP 200, still serving) when it stops answering later, because reads and writes go on with the last known ring.
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
        if (state.LastContact is null)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy(
                $"not registered yet: the membership store has not answered since start ({state.LastError})", data: data));
        }

        return Task.FromResult(HealthCheckResult.Degraded(
            $"membership store unreachable ({state.LastError}); last contact {state.LastContact:O}; serving with the last known cluster view", data: data));
    }
}
