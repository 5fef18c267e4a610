using System.Text;

namespace LogStream.Storage;

/// <summary>
/// Record ids to pick out of a scan. A sealed block holds ids as UTF-8 bytes: <see cref="Match"/> checks their
/// <see cref="RecordIdHash"/> first and makes a string only for a likely match, so finding a few records in a bucket
/// of millions allocates for those few, not for every record read past.
/// </summary>
internal sealed class IdSet
{
    private readonly HashSet<string> _ids;
    private readonly HashSet<ulong> _hashes;

    public IdSet(IEnumerable<string> ids)
    {
        _ids = new HashSet<string>(ids, StringComparer.Ordinal);
        _hashes = new HashSet<ulong>(_ids.Count);
        foreach (var id in _ids)
            _hashes.Add(RecordIdHash.Of(id));
    }

    public int Count => _ids.Count;

    public bool Contains(string id) => _ids.Contains(id);

    /// <summary>The id as a string when it is in the set; null otherwise.</summary>
    public string? Match(ReadOnlySpan<byte> utf8Id)
    {
        if (!_hashes.Contains(RecordIdHash.Of(utf8Id)))
            return null;
        var id = Encoding.UTF8.GetString(utf8Id);
        return _ids.Contains(id) ? id : null;
    }
}
