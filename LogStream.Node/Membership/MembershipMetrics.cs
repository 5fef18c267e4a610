using System.Diagnostics.Metrics;
using LogStream.Node.Diagnostics;

namespace LogStream.Node.Membership;

/// <summary>Heartbeats written, store failures, and members per observed state.</summary>
public sealed class MembershipMetrics
{
    private readonly Counter<long> _heartbeats;
    private readonly Counter<long> _storeFailures;

    public MembershipMetrics(IMeterFactory meterFactory, MembershipView view)
    {
        var meter = meterFactory.Create(InstrumentNames.MembershipMeter);
        _heartbeats = meter.CreateCounter<long>(InstrumentNames.MembershipHeartbeats, "{heartbeat}",
            "Heartbeats this node wrote to the membership store.");
        _storeFailures = meter.CreateCounter<long>(InstrumentNames.MembershipStoreFailures, "{failure}",
            "Calls to the membership store (Redis) that failed or timed out.");
        meter.CreateObservableGauge(InstrumentNames.MembershipMembers, () => CountByState(view.Snapshot), "{member}",
            "Members of the cluster as this node sees them, by state.");
        meter.CreateObservableGauge(InstrumentNames.MembershipDegraded, () => view.Current.Degraded ? 1 : 0, "{bool}",
            "1 while the membership store is unreachable and the node serves with its last known view.");
    }

    public void HeartbeatWritten() => _heartbeats.Add(1);

    public void StoreFailure() => _storeFailures.Add(1);

    private static IEnumerable<Measurement<int>> CountByState(MembershipSnapshot snapshot)
    {
        foreach (var state in Enum.GetValues<MemberState>())
        {
            var count = snapshot.Members.Count(m => m.State == state);
            yield return new Measurement<int>(count, new KeyValuePair<string, object?>("state", state.ToString().ToLowerInvariant()));
        }
    }
}
