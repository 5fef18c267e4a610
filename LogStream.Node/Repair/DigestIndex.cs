using LogStream.Node.Storage;

namespace LogStream.Node.Repair;

/// <summary>
/// A bucket's record digests sorted by id hash, with prefix XORs: the hash and record count of any tree node, at any
/// depth, in O(log n), and the records under it. Built from the store's in-memory digests (no disk read) when a
/// repair descends below the stored leaves; valid for the tree version it was built at.
/// </summary>
public sealed class DigestIndex
{
    private readonly ulong[] _idHashes;
    private readonly ulong[] _prefixXor;
    private readonly RecordDigest[] _digests;

    private DigestIndex(ulong[] idHashes, ulong[] prefixXor, RecordDigest[] digests, long version)
    {
        _idHashes = idHashes;
        _prefixXor = prefixXor;
        _digests = digests;
        Version = version;
    }

    public long Version { get; }

    public int Count => _digests.Length;

    public static DigestIndex Build(IReadOnlyList<RecordDigest> digests, long version)
    {
        var entries = new (ulong IdHash, ulong RecordHash, RecordDigest Digest)[digests.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var digest = digests[i];
            var (idHash, recordHash) = RecordHashes.Both(digest.Id, digest.ContentHash);
            entries[i] = (idHash, recordHash, digest);
        }
        Array.Sort(entries, static (a, b) => a.IdHash != b.IdHash ? a.IdHash.CompareTo(b.IdHash) : string.CompareOrdinal(a.Digest.Id, b.Digest.Id));

        var idHashes = new ulong[entries.Length];
        var prefixXor = new ulong[entries.Length + 1];
        var sorted = new RecordDigest[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            idHashes[i] = entries[i].IdHash;
            prefixXor[i + 1] = prefixXor[i] ^ entries[i].RecordHash;
            sorted[i] = entries[i].Digest;
        }
        return new DigestIndex(idHashes, prefixXor, sorted, version);
    }

    /// <summary>Hash and record count of the node (<paramref name="level"/>, <paramref name="prefix"/>).</summary>
    public (ulong Hash, long Records) Node(int level, ulong prefix)
    {
        var (start, end) = Range(level, prefix);
        return (_prefixXor[end] ^ _prefixXor[start], end - start);
    }

    /// <summary>The digests of the records under the node.</summary>
    public ReadOnlySpan<RecordDigest> Digests(int level, ulong prefix)
    {
        var (start, end) = Range(level, prefix);
        return _digests.AsSpan(start, end - start);
    }

    private (int Start, int End) Range(int level, ulong prefix)
    {
        if (level == 0)
            return (0, _digests.Length);
        var low = level >= 64 ? prefix : prefix & ~(ulong.MaxValue >> level);
        var high = level >= 64 ? prefix : low | (ulong.MaxValue >> level);
        return (LowerBound(low), UpperBound(high));
    }

    private int LowerBound(ulong value)
    {
        int lo = 0, hi = _idHashes.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_idHashes[mid] < value)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    private int UpperBound(ulong value)
    {
        int lo = 0, hi = _idHashes.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_idHashes[mid] <= value)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
}
