using System.Buffers;
using LogStream.Node.Storage;

namespace LogStream.Node.Repair;

/// <summary>
/// A bucket's record digests sorted by id hash, with prefix XORs: the hash and record count of any tree node, at any
/// depth, in O(log n), and the records under it. Built from the store's in-memory digests (no disk read) when a
/// repair descends below the stored leaves; valid for the tree version it was built at. Built for some leaves only
/// (the ones that differ), it holds and sorts only their records: a few lost records in a bucket of millions cost
/// an index of a few leaves, not of the bucket.
/// </summary>
public sealed class DigestIndex
{
    private readonly ulong[] _idHashes;
    private readonly ulong[] _prefixXor;
    private readonly RecordDigest[] _digests;
    private readonly LeafSet? _leaves;

    private DigestIndex(ulong[] idHashes, ulong[] prefixXor, RecordDigest[] digests, long version, LeafSet? leaves)
    {
        _idHashes = idHashes;
        _prefixXor = prefixXor;
        _digests = digests;
        Version = version;
        _leaves = leaves;
    }

    public long Version { get; }

    public int Count => _digests.Length;

    /// <summary>Whether the index holds every record under the node (all of them when built for the whole bucket).</summary>
    public bool Covers(int level, ulong prefix) => _leaves is null || _leaves.Covers(level, prefix);

    /// <summary>Whether the index holds every record of every leaf in <paramref name="leaves"/>.</summary>
    public bool Covers(LeafSet leaves) => _leaves is null || _leaves.Contains(leaves);

    /// <param name="leaves">Index only the records of these stored leaves; null for all.</param>
    /// <param name="stop">Asked every 64 Ki records and before sorting; true abandons the build (<see cref="BucketBusyException"/>).</param>
    public static DigestIndex Build(IReadOnlyList<RecordDigest> digests, long version, LeafSet? leaves = null, Func<bool>? stop = null)
    {
        // Sort primitive keys with an index array beside them (no comparison delegate, 8-byte moves): a bucket of
        // millions is sorted several times faster than as tuples. Records with equal id hashes may come in any order:
        // every node covers them together (same prefix range), and XOR and counts do not depend on order.
        var count = digests.Count;
        var idHashes = ArrayPool<ulong>.Shared.Rent(count);
        var recordHashes = ArrayPool<ulong>.Shared.Rent(count);
        var positions = ArrayPool<int>.Shared.Rent(count);
        try
        {
            var kept = 0;
            for (var i = 0; i < count; i++)
            {
                if ((i & 0xFFFF) == 0xFFFF && stop?.Invoke() == true)
                    throw new BucketBusyException();
                var digest = digests[i];
                var (idHash, recordHash) = RecordHashes.Both(digest.Id, digest.ContentHash);
                if (leaves is not null && !leaves.Contains(LeafSet.LeafOf(idHash)))
                    continue;
                idHashes[kept] = idHash;
                recordHashes[kept] = recordHash;
                positions[kept++] = i;
            }
            if (stop?.Invoke() == true)
                throw new BucketBusyException();
            var keys = idHashes.AsSpan(0, kept).ToArray();
            var order = new int[kept];
            for (var i = 0; i < kept; i++)
                order[i] = i;
            Array.Sort(keys, order);

            var prefixXor = new ulong[kept + 1];
            var sorted = new RecordDigest[kept];
            for (var i = 0; i < kept; i++)
            {
                prefixXor[i + 1] = prefixXor[i] ^ recordHashes[order[i]];
                sorted[i] = digests[positions[order[i]]];
            }
            return new DigestIndex(keys, prefixXor, sorted, version, leaves);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(idHashes);
            ArrayPool<ulong>.Shared.Return(recordHashes);
            ArrayPool<int>.Shared.Return(positions);
        }
    }

    /// <summary>Hash and record count of the node (<paramref name="level"/>, <paramref name="prefix"/>).</summary>
    public (ulong Hash, long Records) Node(int level, ulong prefix)
    {
        EnsureCovers(level, prefix);
        var (start, end) = Range(level, prefix);
        return (_prefixXor[end] ^ _prefixXor[start], end - start);
    }

    /// <summary>The digests of the records under the node.</summary>
    public ReadOnlySpan<RecordDigest> Digests(int level, ulong prefix)
    {
        EnsureCovers(level, prefix);
        var (start, end) = Range(level, prefix);
        return _digests.AsSpan(start, end - start);
    }

    private void EnsureCovers(int level, ulong prefix)
    {
        if (!Covers(level, prefix))
            throw new InvalidOperationException($"The digest index does not hold the records of node ({level}, {prefix:x16})");
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

/// <summary>A background repair's work on a bucket was abandoned because ingest started landing in it.</summary>
public sealed class BucketBusyException() : Exception("The bucket is being written to; left for a later round");
