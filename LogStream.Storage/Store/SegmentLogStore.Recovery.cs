using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

public sealed partial class SegmentLogStore
{
    /// <summary>A segment file found at start-up, its header read and its handle open.</summary>
    private sealed record SegmentFile(string Path, SegmentHeader Header, SafeFileHandle Handle, long Length);

    /// <summary>
    /// The segment files of one bucket folder with a readable header. Unfinished rewrites (<c>.tmp</c>) are deleted, a
    /// file too short to hold even the fixed header (created, never made durable) is deleted, anything else unreadable
    /// is moved aside.
    /// </summary>
    private List<SegmentFile> ScanBucketDirectory(string bucketDirectory, RecoveryReport report)
    {
        var files = new List<SegmentFile>();
        foreach (var path in System.IO.Directory.EnumerateFiles(bucketDirectory))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(SegmentFormat.TempExtension, StringComparison.Ordinal))
            {
                File.Delete(path);
                continue;
            }
            if (!name.EndsWith(SegmentFormat.LogExtension, StringComparison.Ordinal) && !name.EndsWith(SegmentFormat.SealedExtension, StringComparison.Ordinal))
                continue;
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            var status = SegmentHeader.TryRead(handle, length, out var header);
            if (status == SegmentHeader.ReadStatus.Ok)
            {
                files.Add(new SegmentFile(path, header!, handle, length));
                continue;
            }
            handle.Dispose();
            if (status == SegmentHeader.ReadStatus.TooShort)
            {
                // Crash between creating a log segment and making its header durable: it never held a record.
                LogEmptySegmentRemoved(path);
                File.Delete(path);
            }
            else
            {
                Quarantine(path, $"unreadable header ({status})", report, bucket: null);
            }
        }
        return files;
    }

    /// <summary>Opens every segment of one bucket (from whatever folders they were found in) and indexes its log segments.</summary>
    private async Task RecoverBucketAsync(IReadOnlyList<SegmentFile> group, RecoveryReport report)
    {
        {
            var first = group[0].Header;
            var key = new BucketKey(first.Partition, UnixTicks.ToDateTimeOffset(first.BucketTicks));
            var bucket = _buckets.GetOrAdd(key, k => NewBucket(k, first.WidthTicks));
            // Newest first: a segment that opens declares which older ones it replaced; one that does not open (moved
            // aside) declares nothing, so the older files it would have replaced stay as the best copy there is.
            uint replacedUpTo = 0;
            var opened = new List<(Segment Segment, MerkleLeaves Leaves)>();
            var corruptions = new List<CorruptionReport>();
            foreach (var file in group.OrderByDescending(f => f.Header.Sequence))
            {
                bucket.NextSequence = Math.Max(bucket.NextSequence, file.Header.Sequence + 1);
                if (file.Header.Sequence <= replacedUpTo)
                {
                    // Leftover of a rewrite that was committed (renamed) before the crash.
                    file.Handle.Dispose();
                    File.Delete(file.Path);
                    LogObsoleteSegmentRemoved(file.Path);
                    continue;
                }

                Segment segment;
                MerkleLeaves leaves;
                if (file.Header.Kind == SegmentKind.Log)
                {
                    var result = new LogRecoveryResult();
                    segment = LogSegment.Recover(file.Path, file.Header, file.Handle, file.Length, result, _context);
                    // Frames a crashed process wrote may still be only in the page cache: make them durable before a
                    // retry of one of them is answered "already present".
                    segment.Flush();
                    leaves = result.Leaves;
                    if (result.TruncatedAt >= 0)
                    {
                        report.Truncations++;
                        _metrics.RecoveryTruncation();
                        LogTornTail(file.Path, result.TruncatedAt, result.TruncatedBytes);
                    }
                    foreach (var (offset, length, id) in result.CorruptRegions)
                        corruptions.Add(new CorruptionReport(key, file.Path, offset, length, id is null ? [] : [id], id is null ? [] : [_context.IdHashOf(id)], "CRC mismatch"));
                }
                else
                {
                    try
                    {
                        var opening = SealedSegment.Open(file.Path, file.Header, file.Handle, file.Length, _context, out leaves);
                        segment = opening;
                        if (opening.NeedsMigration)
                        {
                            _needsMigration.TryAdd(key, 0);
                            report.ToMigrate++;
                        }
                    }
                    catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or ArithmeticException or IndexOutOfRangeException)
                    {
                        // Whatever damaged bytes make of the parser, the file is unusable: moved aside, never a crash.
                        file.Handle.Dispose();
                        Quarantine(file.Path, ex.Message, report, key);
                        continue;
                    }
                }
                replacedUpTo = Math.Max(replacedUpTo, file.Header.ReplacesUpTo);
                opened.Add((segment, leaves));
            }

            opened.Reverse();
            var segments = opened.Select(o => o.Segment).ToArray();
            bucket.Segments = segments;
            var duplicates = !IndexRecovered(bucket, segments);
            var bucketLeaves = new MerkleLeaves();
            foreach (var (segment, leaves) in opened)
            {
                bucketLeaves.Add(leaves);
                report.Records += segment.RecordCount;
            }
            bucket.LoadedLeaves = bucketLeaves;
            if (segments.Length > 0 && segments[^1] is LogSegment last)
            {
                last.Writable = true;
                bucket.Active = last;
            }
            foreach (var corruption in corruptions)
                ReportCorruption(corruption, report);

            if (corruptions.Count > 0 || duplicates)
            {
                // Rewrite now, so damaged bytes are neither served nor reported again at the next start, and a record
                // found twice is stored once.
                await bucket.Gate.WaitAsync();
                try
                {
                    Rewrite(bucket, remove: null, removed: null, seal: ShouldSealOnRewrite(bucket, _timeProvider.GetUtcNow()));
                }
                finally
                {
                    bucket.Gate.Release();
                }
            }
        }
    }

    /// <summary>
    /// Builds the id table of the bucket's log segments; false when a record is stored twice (in two log segments, or
    /// in a log segment and a sealed one: an interrupted rewrite, a copy of an old file).
    /// </summary>
    private bool IndexRecovered(Bucket bucket, Segment[] segments)
    {
        var open = NewOpenIndex();
        var unique = true;
        var sealedSegments = segments.OfType<SealedSegment>().ToArray();
        var idBuffer = sealedSegments.Length > 0 ? LogSegment.NewIdBuffer() : null;
        using var scratch = new BlockScratch();
        foreach (var log in segments.OfType<LogSegment>())
        {
            open.Track(log);
            for (var i = 0; i < log.EntryCount; i++)
            {
                var idHash = log.EntryAt(i).IdHash;
                if (!open.AddRecovered(i, idHash))
                {
                    unique = false;
                    continue;
                }
                if (idBuffer is not null && log.TryReadId(i, idBuffer, out var id))
                {
                    foreach (var sealedSegment in sealedSegments)
                    {
                        if (sealedSegment.Contains(idHash, id, _readCorruption, scratch))
                            unique = false;
                    }
                }
            }
        }
        bucket.ReplaceOpen(open);
        return unique;
    }

    private void Quarantine(string path, string reason, RecoveryReport report, BucketKey? bucket)
    {
        var target = path + SegmentFormat.CorruptExtension;
        File.Move(path, target, overwrite: true);
        report.CorruptRegions++;
        _metrics.CorruptRegion();
        LogQuarantined(path, reason);
        if (bucket is { } key)
            Notify(o => o.OnCorruption(new CorruptionReport(key, target, 0, new FileInfo(target).Length, [], [], reason)));
    }

    private void ReportCorruption(CorruptionReport corruption, RecoveryReport? report)
    {
        if (report is not null)
            report.CorruptRegions++;
        _metrics.CorruptRegion();
        LogCorruption(corruption.SegmentPath, corruption.Offset, corruption.Length, Math.Max(corruption.LostIds.Count, corruption.LostIdHashes.Count), corruption.Reason);
        Notify(o => o.OnCorruption(corruption));
    }

    private void OnReadCorruption(Segment segment, long offset, long length, IReadOnlyList<ulong> lostIdHashes, string? lostId, string reason)
    {
        var key = new BucketKey(segment.Header.Partition, UnixTicks.ToDateTimeOffset(segment.Header.BucketTicks));
        ReportCorruption(new CorruptionReport(key, segment.Path, offset, length, lostId is null ? [] : [lostId], lostIdHashes, reason), null);
        _needsScrub.TryAdd(key, 0);
    }
}
