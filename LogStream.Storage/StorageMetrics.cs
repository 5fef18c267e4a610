using System.Diagnostics.Metrics;


namespace LogStream.Storage;

/// <summary>Appends, fsyncs, segments, disk bytes, corruption, recovery truncations, sealing and retention.</summary>
public sealed class StorageMetrics
{
    private readonly Counter<long> _recordsAppended;
    private readonly Counter<long> _bytesAppended;
    private readonly Counter<long> _recordsDuplicate;
    private readonly Counter<long> _fsyncs;
    private readonly Histogram<long> _recordsPerFsync;
    private readonly Histogram<double> _fsyncDuration;
    private readonly Counter<long> _corruptFrames;
    private readonly Counter<long> _recoveryTruncations;
    private readonly Counter<long> _bucketsSealed;
    private readonly Counter<long> _retentionDrops;
    private readonly Counter<long> _recordsRemoved;
    private readonly Counter<long> _blocksRead;
    private readonly Counter<long> _blockBytesRead;
    private readonly Counter<long> _verifiedBytes;
    private readonly Histogram<double> _indexGrowth;
    private Func<(long Segments, long DiskBytes, long Records)>? _totals;
    private long _blocksReadTotal;

    public StorageMetrics(IMeterFactory meterFactory, MemoryLedger? ledger = null)
    {
        Ledger = ledger ?? new MemoryLedger();
        var meter = meterFactory.Create(StorageInstrumentNames.Meter);
        _recordsAppended = meter.CreateCounter<long>(StorageInstrumentNames.RecordsAppended, "{record}", "Records newly stored by appends.");
        _bytesAppended = meter.CreateCounter<long>(StorageInstrumentNames.BytesAppended, "By", "Bytes of frames (header and encoded record) appended to segments.");
        _recordsDuplicate = meter.CreateCounter<long>(StorageInstrumentNames.RecordsDuplicate, "{record}", "Appended records that were already present (idempotent retries).");
        _fsyncs = meter.CreateCounter<long>(StorageInstrumentNames.Fsyncs, "{fsync}", "Group commits: rounds that made appended segments durable.");
        _recordsPerFsync = meter.CreateHistogram<long>(StorageInstrumentNames.RecordsPerFsync, "{record}", "Records made durable by one group commit.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536] });
        _fsyncDuration = meter.CreateHistogram<double>(StorageInstrumentNames.FsyncDuration, "s", "Duration of one group commit (all its fsyncs).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
        _corruptFrames = meter.CreateCounter<long>(StorageInstrumentNames.CorruptFrames, "{region}", "Corrupt frames or blocks found (CRC mismatch), at recovery or on read.");
        _recoveryTruncations = meter.CreateCounter<long>(StorageInstrumentNames.RecoveryTruncations, "{truncation}", "Torn segment tails truncated at start-up.");
        _bucketsSealed = meter.CreateCounter<long>(StorageInstrumentNames.BucketsSealed, "{bucket}", "Buckets sealed (rewritten compressed and indexed).");
        _retentionDrops = meter.CreateCounter<long>(StorageInstrumentNames.RetentionDrops, "{bucket}", "Buckets dropped because they outlived the retention.");
        _recordsRemoved = meter.CreateCounter<long>(StorageInstrumentNames.RecordsRemoved, "{record}", "Records removed on request (chaos, repair tooling) or lost to corruption.");
        _blocksRead = meter.CreateCounter<long>(StorageInstrumentNames.BlocksRead, "{block}", "Blocks of sealed segments read and decompressed (queries, duplicate checks, repair).");
        _blockBytesRead = meter.CreateCounter<long>(StorageInstrumentNames.BlockBytesRead, "By", "Compressed bytes of sealed blocks read.");
        _indexGrowth = meter.CreateHistogram<double>(StorageInstrumentNames.IndexGrowthDuration, "s",
            "How long one growth of an open bucket's id table took (a chunk doubled or split): the longest its writers waited for it.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5] });
        _verifiedBytes = meter.CreateCounter<long>(StorageInstrumentNames.VerifiedBytes, "By", "Compressed bytes of sealed blocks checked against their CRC by background verification.");
        meter.CreateObservableGauge(StorageInstrumentNames.MemoryUsed, () => Ledger.Snapshot().Select(s => new Measurement<long>(s.Bytes, new KeyValuePair<string, object?>("structure", s.Structure))),
            "By", "Memory held by the node's long-lived structures, by structure (indexes, caches, Merkle trees).");
        meter.CreateObservableGauge(StorageInstrumentNames.Segments, () => _totals?.Invoke().Segments ?? 0, "{segment}", "Segment files held.");
        meter.CreateObservableGauge(StorageInstrumentNames.DiskBytes, () => _totals?.Invoke().DiskBytes ?? 0, "By", "Bytes of segment files on disk.");
        meter.CreateObservableGauge(StorageInstrumentNames.Records, () => _totals?.Invoke().Records ?? 0, "{record}", "Records held locally.");
    }

    /// <summary>Where the node's structures report their memory (<c>logstream_memory_used_bytes</c>).</summary>
    public MemoryLedger Ledger { get; }

    /// <summary>Sealed blocks read since start (start-up reads none).</summary>
    public long BlocksRead => Interlocked.Read(ref _blocksReadTotal);

    internal void Attach(Func<(long Segments, long DiskBytes, long Records)> totals, Func<StorageMemory> memory)
    {
        _totals = totals;
        Ledger.Register("id_tables", () => memory().IdTables);
        Ledger.Register("record_entries", () => memory().RecordEntries);
        Ledger.Register("sealed_block_indexes", () => memory().SealedIndexes);
        Ledger.Register("sealed_index_cache", () => memory().IndexCache);
    }

    internal void BlockRead(int compressedBytes)
    {
        Interlocked.Increment(ref _blocksReadTotal);
        _blocksRead.Add(1);
        _blockBytesRead.Add(compressedBytes);
    }

    internal void Appended(int records, long bytes, int duplicates)
    {
        if (records > 0)
        {
            _recordsAppended.Add(records);
            _bytesAppended.Add(bytes);
        }
        if (duplicates > 0)
            _recordsDuplicate.Add(duplicates);
    }

    internal void Committed(int records, TimeSpan duration)
    {
        _fsyncs.Add(1);
        _recordsPerFsync.Record(records);
        _fsyncDuration.Record(duration.TotalSeconds);
    }

    internal void IndexGrew(TimeSpan duration) => _indexGrowth.Record(duration.TotalSeconds);

    internal void Verified(long bytes)
    {
        if (bytes > 0)
            _verifiedBytes.Add(bytes);
    }

    internal void CorruptRegion() => _corruptFrames.Add(1);

    internal void RecoveryTruncation() => _recoveryTruncations.Add(1);

    internal void BucketSealed() => _bucketsSealed.Add(1);

    internal void RetentionDrop() => _retentionDrops.Add(1);

    internal void RecordsRemoved(int count) => _recordsRemoved.Add(count);
}
