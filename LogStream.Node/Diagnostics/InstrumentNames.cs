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

    public const string StorageMeter = "LogStream.Node.Storage";

    public const string StorageRecordsAppended = "logstream.storage.records_appended";
    public const string StorageBytesAppended = "logstream.storage.bytes_appended";
    public const string StorageRecordsDuplicate = "logstream.storage.records_duplicate";
    public const string StorageFsyncs = "logstream.storage.fsyncs";
    public const string StorageRecordsPerFsync = "logstream.storage.records_per_fsync";
    public const string StorageFsyncDuration = "logstream.storage.fsync_duration";
    public const string StorageSegments = "logstream.storage.segments";
    public const string StorageDiskBytes = "logstream.storage.disk_bytes";
    public const string StorageRecords = "logstream.storage.records";
    public const string StorageCorruptFrames = "logstream.storage.corrupt_frames";
    public const string StorageRecoveryTruncations = "logstream.storage.recovery_truncations";
    public const string StorageBucketsSealed = "logstream.storage.buckets_sealed";
    public const string StorageRetentionDrops = "logstream.storage.retention_drops";
    public const string StorageRecordsRemoved = "logstream.storage.records_removed";

    public const string HintsMeter = "LogStream.Node.Hints";

    public const string HintsStored = "logstream.hints.stored";
    public const string HintsReplayed = "logstream.hints.replayed";
    public const string HintsExpired = "logstream.hints.expired";
    public const string HintsPending = "logstream.hints.pending";
    public const string HintsCorrupt = "logstream.hints.corrupt";
}
