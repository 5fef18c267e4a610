namespace LogStream.Storage;

/// <summary>
/// The storage engine's meter and instrument names (Prometheus: dots become underscores, counters get <c>_total</c>:
/// <c>logstream.storage.records_appended</c> → <c>logstream_storage_records_appended_total</c>).
/// </summary>
public static class StorageInstrumentNames
{
    public const string Meter = "LogStream.Storage";

    public const string RecordsAppended = "logstream.storage.records_appended";
    public const string BytesAppended = "logstream.storage.appended_bytes";
    public const string RecordsDuplicate = "logstream.storage.records_duplicate";
    public const string Fsyncs = "logstream.storage.fsyncs";
    public const string RecordsPerFsync = "logstream.storage.records_per_fsync";
    public const string FsyncDuration = "logstream.storage.fsync_duration";
    public const string Segments = "logstream.storage.segments";
    public const string DiskBytes = "logstream.storage.disk_bytes";
    public const string Records = "logstream.storage.records";
    public const string CorruptFrames = "logstream.storage.corrupt_frames";
    public const string RecoveryTruncations = "logstream.storage.recovery_truncations";
    public const string BucketsSealed = "logstream.storage.buckets_sealed";
    public const string RetentionDrops = "logstream.storage.retention_drops";
    public const string RecordsRemoved = "logstream.storage.records_removed";
    public const string BlocksRead = "logstream.storage.blocks_read";
    public const string BlockBytesRead = "logstream.storage.block_read_bytes";
    public const string IndexGrowthDuration = "logstream.storage.index_growth_duration";
    public const string VerifiedBytes = "logstream.storage.verified_bytes";
    public const string MemoryUsed = "logstream.memory.used";
}
