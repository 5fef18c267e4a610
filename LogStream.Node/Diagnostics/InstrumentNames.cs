namespace LogStream.Node.Diagnostics;

/// <summary>
/// Every meter and instrument name of the node, in one place. Prometheus sees dots as underscores and
/// counters with a <c>_total</c> suffix: <c>logstream.records.ingested</c> → <c>logstream_records_ingested_total</c>.
/// </summary>
public static class InstrumentNames
{
    public const string MembershipMeter = "LogStream.Node.Membership";
    public const string RingMeter = "LogStream.Node.Ring";

    public const string MembershipHeartbeats = "logstream.membership.heartbeats";
    public const string MembershipStoreFailures = "logstream.membership.store_failures";
    public const string MembershipMembers = "logstream.membership.members";
    public const string MembershipDegraded = "logstream.membership.degraded";
}
