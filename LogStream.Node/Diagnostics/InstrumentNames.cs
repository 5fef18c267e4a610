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

    public const string ReplicationMeter = "LogStream.Node.Replication";
    public const string ReplicationActivitySource = "LogStream.Node.Replication";

    public const string RecordsIngested = "logstream.records.ingested";
    public const string QuorumFailures = "logstream.quorum.failures";
    public const string WriteDuration = "logstream.write.duration";
    public const string ReplicaRequests = "logstream.replica.requests";
    public const string ReplicaRequestDuration = "logstream.replica.request.duration";
    public const string ReplicaRecordsReceived = "logstream.replica.records_received";

    public const string QueryMeter = "LogStream.Node.Query";
    public const string QueryActivitySource = "LogStream.Node.Query";

    public const string ReadDuration = "logstream.read.duration";
    public const string ReadRepairs = "logstream.read_repairs";
    public const string RecordsReadRepaired = "logstream.records.read_repaired";
    public const string ReadHedges = "logstream.read.hedges";

    public const string RepairMeter = "LogStream.Node.Repair";
    public const string RepairActivitySource = "LogStream.Node.Repair";

    public const string RepairComparisons = "logstream.repair.comparisons";
    public const string RepairMismatches = "logstream.repair.mismatches";
    public const string RepairsCompleted = "logstream.repairs.completed";
    public const string RecordsRepaired = "logstream.records.repaired";
    public const string RepairBytes = "logstream.repair.bytes";
    public const string RepairConflicts = "logstream.repair.conflicts";
    public const string RepairDuration = "logstream.repair.duration";
    public const string RepairLastSuccess = "logstream.repair.last_success";

    public const string HintsMeter = "LogStream.Node.Hints";

    public const string HintsStored = "logstream.hints.stored";
    public const string HintsReplayed = "logstream.hints.replayed";
    public const string HintsExpired = "logstream.hints.expired";
    public const string HintsPending = "logstream.hints.pending";
    public const string HintsCorrupt = "logstream.hints.corrupt";
}
