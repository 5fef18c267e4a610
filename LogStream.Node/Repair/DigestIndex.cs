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
        // Sort primitive keys with an index array beside them (no comparison delegate, 8-byte moves): a bucket of
        // millions is sorted several times faster than as tuples. Records with equal id hashes may come in any order:
        // every node covers them together (same prefix range), and XOR and counts do not depend on order.
        var idHashes = new ulong[digests.Count];
        var recordHashes = new ulong[digests.Count];
        var order = new int[digests.Count];
        for (var i = 0; i < idHashes.Length; i++)
        {
            var digest = digests[i];
            (idHashes[i], recordHashes[i]) = RecordHashes.Both(digest.Id, digest.ContentHash);
            order[i] = i;
        }
        Array.Sort(idHashes, order);

        var prefixXor = new ulong[idHashes.Length + 1];
        var sorted = new RecordDigest[idHashes.Length];
        for (var i = 0; i < idHashes.Length; i++)
        {
            prefixXor[i + 1] = prefixXor[i] ^ recordHashes[order[i]];
            sorted[i] = digests[order[i]];
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
