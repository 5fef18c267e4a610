using System.Buffers;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>One stored record as a reader meets it: the encoded bytes (valid until the reader moves on) and its keys.</summary>
internal readonly struct Entry(ReadOnlyMemory<byte> payload, long ticks, string id)
{
    public ReadOnlyMemory<byte> Payload { get; } = payload;

    public long Ticks { get; } = ticks;

    public string Id { get; } = id;
}

/// <summary>A segment file of one bucket. Reference counted: readers hold it open while a rewrite retires it.</summary>
internal abstract class Segment(string path, SegmentHeader header, SafeFileHandle handle) : RefCountedFile(path, handle)
{
    public SegmentHeader Header { get; } = header;

    public uint Sequence => Header.Sequence;

    public abstract bool IsSealed { get; }

    public abstract long RecordCount { get; }

    public abstract long FileBytes { get; }

    public abstract long MinTicks { get; }

    public abstract long MaxTicks { get; }

    /// <summary>Memory this segment holds for its records (indexes; not the shared caches).</summary>
    public abstract long MemoryBytes { get; }

    /// <summary>Distinct sources of the records (a superset is fine, never a subset).</summary>
    public abstract IReadOnlyCollection<string> Sources { get; }

    /// <summary>Cheap test: could any record here pass the filter?</summary>
    public bool MayMatch(RecordFilter filter) =>
        RecordCount > 0 && MaxTicks >= filter.FromTicks && MinTicks < filter.ToTicks
        && (filter.Source is null || Sources.Contains(filter.Source));

    /// <summary>Matching records, newest first: timestamp descending, then id descending (ordinal).</summary>
    public abstract IEnumerable<Entry> Descending(RecordFilter filter, CorruptionSink corruption);

    /// <summary>All records ordered by (timestamp, id) ascending: the input of a rewrite.</summary>
    public abstract IEnumerable<Entry> Ascending(CorruptionSink corruption);

    /// <summary>All records (or those whose id hash is in <paramref name="idHashes"/>) in the cheapest order.</summary>
    public abstract IEnumerable<Entry> StorageOrder(IReadOnlySet<ulong>? idHashes, CorruptionSink corruption);

    /// <summary>How many records pass the filter, from statistics where exact.</summary>
    public abstract long Count(RecordFilter filter, CorruptionSink corruption);

    /// <summary>The digest of every record, or of those in the Merkle leaves <paramref name="leafFilter"/> accepts.</summary>
    public abstract IEnumerable<RecordDigest> Digests(Func<int, bool>? leafFilter, CorruptionSink corruption);
}

/// <summary>
/// Receives corrupt regions met while reading, so a query never skips data silently: the records known lost by id hash
/// (and by id when the damage left it readable).
/// </summary>
internal delegate void CorruptionSink(Segment segment, long offset, long length, IReadOnlyList<ulong> lostIdHashes, string? lostId, string reason);

/// <summary>A <see cref="LogQuery"/> compiled for the readers: level bitmask, tick bounds, UTF-8 source.</summary>
internal sealed class RecordFilter
{
    public static readonly RecordFilter All = new(new LogQuery());

    public RecordFilter(LogQuery query)
    {
        var mask = 0;
        for (var level = 0; level <= (int)LogSeverities.Max; level++)
        {
            var ok = (query.Level is null || (int)query.Level == level) && (query.MinLevel is null || level >= (int)query.MinLevel);
            if (ok)
                mask |= 1 << level;
        }
        LevelMask = mask;
        FromTicks = query.From is { } from ? UnixTicks.From(from) : long.MinValue;
        ToTicks = query.To is { } to ? UnixTicks.From(to) : long.MaxValue;
        Source = query.Source;
        SourceUtf8 = query.Source is null ? null : Encoding.UTF8.GetBytes(query.Source);
        Contains = string.IsNullOrEmpty(query.Contains) ? null : query.Contains;
        Partitions = query.Partitions;
    }

    public int LevelMask { get; }

    public long FromTicks { get; }

    public long ToTicks { get; }

    public string? Source { get; }

    public byte[]? SourceUtf8 { get; }

    public string? Contains { get; }

    public IReadOnlySet<string>? Partitions { get; }

    public bool MatchesNothing => LevelMask == 0 || FromTicks >= ToTicks;

    /// <summary>True when only level and time filter (block statistics can answer counts).</summary>
    public bool HeaderOnly => Source is null && Contains is null;

    public bool MatchesLevel(LogSeverity level) => (LevelMask & (1 << (int)level)) != 0;

    public bool MatchesHeader(long ticks, LogSeverity level) => MatchesLevel(level) && ticks >= FromTicks && ticks < ToTicks;

    /// <summary>Header, source and contains filters on an encoded record.</summary>
    public bool Matches(ReadOnlySpan<byte> payload)
    {
        if (!MatchesHeader(EncodedRecord.ReadTicks(payload), EncodedRecord.ReadLevel(payload)))
            return false;
        if (HeaderOnly)
            return true;
        if (!EncodedRecord.TryParse(payload, out var view))
            return false;
        if (SourceUtf8 is not null && !view.Source.SequenceEqual(SourceUtf8))
            return false;
        return Contains is null || MessageContains(view.Message, Contains);
    }

    private static bool MessageContains(ReadOnlySpan<byte> message, string text)
    {
        if (message.Length < text.Length)
            return false;
        char[]? rented = null;
        var chars = message.Length <= 512 ? stackalloc char[message.Length] : (rented = ArrayPool<char>.Shared.Rent(message.Length));
        try
        {
            var count = Encoding.UTF8.GetChars(message, chars);
            return chars[..count].Contains(text, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }
}

