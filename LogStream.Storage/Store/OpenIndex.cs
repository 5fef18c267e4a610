namespace LogStream.Storage;

/// <summary>
/// The duplicate check of a bucket's log segments: an <see cref="IdTable"/> from id hash to record ordinal, ordinals
/// numbering the records of the log segments one after the other. A hash match is confirmed against the id bytes of
/// the stored frame. Sealed segments answer for their own records. Under the bucket's gate.
/// </summary>
internal sealed class OpenIndex : IDisposable
{
    private readonly List<LogSegment> _segments = [];
    private readonly List<int> _bases = [];
    private readonly Action<TimeSpan>? _grew;
    private IdTable? _table;

    /// <param name="grew">Told how long each growth of the id table took (<see cref="StorageMetrics"/>).</param>
    public OpenIndex(Action<TimeSpan>? grew = null) => _grew = grew;
    private byte[]? _idBuffer;
    private byte[]? _otherIdBuffer;


    /// <summary>Memory of the id table (the record entries belong to the segments).</summary>
    public long Bytes => _table?.Bytes ?? 0;

    public int Count => _table?.Count ?? 0;

    /// <summary>Starts numbering the records of <paramref name="segment"/>, which follows the ones tracked so far.</summary>
    public void Track(LogSegment segment)
    {
        var start = _segments.Count == 0 ? 0 : _bases[^1] + _segments[^1].EntryCount;
        _segments.Add(segment);
        _bases.Add(start);
    }

    /// <summary>Whether a record with this id is in the log segments.</summary>
    public bool Contains(ulong idHash, ReadOnlySpan<byte> id)
    {
        if (_table is null)
            return false;
        foreach (var ordinal in _table.Find(idHash))
        {
            if (TryReadId(ordinal, _idBuffer ??= LogSegment.NewIdBuffer(), out var stored) && stored.SequenceEqual(id))
                return true;
        }
        return false;
    }

    /// <summary>Whether any record of the log segments has this id hash (no disk read; a superset of <see cref="Contains"/>).</summary>
    public bool MayContain(ulong idHash)
    {
        if (_table is null)
            return false;
        foreach (var _ in _table.Find(idHash))
            return true;
        return false;
    }

    /// <summary>Indexes record <paramref name="index"/> of the last tracked segment, known to be new.</summary>
    public void Add(int index, ulong idHash) => Table.Add(idHash, _bases[^1] + index);

    /// <summary>Created with the first record: a sealed bucket's empty index holds nothing.</summary>
    private IdTable Table => _table ??= new IdTable(HashOf, _grew);

    /// <summary>Frees the id table's native memory; under the bucket's gate, like every other call.</summary>
    public void Dispose()
    {
        _table?.Dispose();
        _table = null;
    }

    /// <summary>
    /// Indexes record <paramref name="index"/> of the last tracked segment as recovery finds it; false (not indexed)
    /// when an earlier record has the same id.
    /// </summary>
    public bool AddRecovered(int index, ulong idHash)
    {
        var ordinal = _bases[^1] + index;
        foreach (var other in Table.Find(idHash))
        {
            if (TryReadId(ordinal, _idBuffer ??= LogSegment.NewIdBuffer(), out var id)
                && TryReadId(other, _otherIdBuffer ??= LogSegment.NewIdBuffer(), out var stored) && stored.SequenceEqual(id))
                return false;
        }
        Table.Add(idHash, ordinal);
        return true;
    }

    private ulong HashOf(int ordinal)
    {
        var (segment, index) = Locate(ordinal);
        return segment.EntryAt(index).IdHash;
    }

    private bool TryReadId(int ordinal, byte[] buffer, out ReadOnlySpan<byte> id)
    {
        var (segment, index) = Locate(ordinal);
        return segment.TryReadId(index, buffer, out id);
    }

    private (LogSegment Segment, int Index) Locate(int ordinal)
    {
        var k = _bases.Count - 1;
        while (_bases[k] > ordinal)
            k--;
        return (_segments[k], ordinal - _bases[k]);
    }
}
