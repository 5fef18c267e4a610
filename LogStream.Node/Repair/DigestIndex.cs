using System.Buffers;
using System.Runtime.InteropServices;
using LogStream.Storage;

namespace LogStream.Node.Repair;

/// <summary>
/// A bucket's record digests sorted by id hash, with prefix XORs: the hash and record count of any tree node, at any
/// depth, in O(log n), and the records under it. Built from the store's digest listing (a sealed bucket's id index,
/// already sorted) when a repair descends below the stored leaves; valid for the tree version it was built at. Built for some leaves only
/// (the ones that differ), it holds and sorts only their records: a few lost records in a bucket of millions cost
/// an index of a few leaves, not of the bucket.
/// </summary>
public sealed class DigestIndex
{
    private readonly ulong[] _idHashes;
    private readonly ulong[] _prefixXor;
    private readonly IReadOnlyList<RecordDigest> _digests;
    private readonly int[] _positions;
    private readonly LeafSet? _leaves;

    private DigestIndex(ulong[] idHashes, ulong[] prefixXor, IReadOnlyList<RecordDigest> digests, int[] positions, long version, LeafSet? leaves)
    {
        _idHashes = idHashes;
        _prefixXor = prefixXor;
        _digests = digests;
        _positions = positions;
        Version = version;
        _leaves = leaves;
    }

    public long Version { get; }

    public int Count => _idHashes.Length;

    /// <summary>Memory held: id hashes, prefix XORs and positions, and the listing it was built from.</summary>
    public long Bytes => _idHashes.Length * 20L + 8 + _digests.Count * 16L;

    /// <summary>Whether the index holds every record under the node (all of them when built for the whole bucket).</summary>
    public bool Covers(int level, ulong prefix) => _leaves is null || _leaves.Covers(level, prefix);

    /// <summary>Whether the index holds every record of every leaf in <paramref name="leaves"/>.</summary>
    public bool Covers(LeafSet leaves) => _leaves is null || _leaves.Contains(leaves);

    /// <param name="leaves">Index only the records of these stored leaves; null for all.</param>
    /// <param name="stop">Asked every 64 Ki records and before sorting; true abandons the build (<see cref="BucketBusyException"/>).</param>
    public static DigestIndex Build(IReadOnlyList<RecordDigest> digests, long version, LeafSet? leaves = null, Func<bool>? stop = null)
    {
        // One pass in the listing's order (hashes, leaves), a counting sort by stored leaf (the id hash's top bits),
        // then each leaf's few records sorted by the whole id hash, primitive keys with (position, hash) beside them:
        // no comparison delegate, no random reads of the listing, and a leaf's records stay in cache. The digests
        // themselves are only gathered for the nodes whose records are asked for. Records with equal id hashes may
        // come in any order: every node covers them together (same prefix range), and XOR and counts do not depend
        // on order.
        var listing = AsSpan(digests);
        var count = listing.Length;
        var leafOf = ArrayPool<short>.Shared.Rent(count);
        var hashes = ArrayPool<ulong>.Shared.Rent(count);
        var starts = new int[BucketTree.LeafCount + 1];
        (int Position, ulong Hash)[]? entries = null;
        try
        {
            var kept = 0;
            for (var i = 0; i < count; i++)
            {
                if ((i & 0xFFFF) == 0xFFFF && stop?.Invoke() == true)
                    throw new BucketBusyException();
                ref readonly var digest = ref listing[i];
                var leaf = LeafSet.LeafOf(digest.IdHash);
                if (leaves is not null && !leaves.Contains(leaf))
                {
                    leafOf[i] = -1;
                    continue;
                }
                leafOf[i] = (short)leaf;
                hashes[i] = RecordHashes.RecordHash(digest.IdHash, digest.ContentHash);
                starts[leaf + 1]++;
                kept++;
            }
            if (stop?.Invoke() == true)
                throw new BucketBusyException();
            for (var leaf = 0; leaf < BucketTree.LeafCount; leaf++)
                starts[leaf + 1] += starts[leaf];

            var keys = new ulong[kept];
            entries = ArrayPool<(int Position, ulong Hash)>.Shared.Rent(kept);
            var next = starts.AsSpan(0, BucketTree.LeafCount).ToArray();
            for (var i = 0; i < count; i++)
            {
                if (leafOf[i] < 0)
                    continue;
                var at = next[leafOf[i]]++;
                keys[at] = listing[i].IdHash;
                entries[at] = (i, hashes[i]);
            }
            // A sealed bucket lists its digests from its id index, already in id-hash order: nothing to sort then.
            for (var leaf = 0; leaf < BucketTree.LeafCount; leaf++)
            {
                var length = starts[leaf + 1] - starts[leaf];
                if (length > 1 && !IsSorted(keys.AsSpan(starts[leaf], length)))
                    keys.AsSpan(starts[leaf], length).Sort(entries.AsSpan(starts[leaf], length));
            }

            var prefixXor = new ulong[kept + 1];
            var positions = new int[kept];
            for (var i = 0; i < kept; i++)
            {
                prefixXor[i + 1] = prefixXor[i] ^ entries[i].Hash;
                positions[i] = entries[i].Position;
            }
            return new DigestIndex(keys, prefixXor, digests, positions, version, leaves);
        }
        finally
        {
            ArrayPool<short>.Shared.Return(leafOf);
            ArrayPool<ulong>.Shared.Return(hashes);
            if (entries is not null)
                ArrayPool<(int Position, ulong Hash)>.Shared.Return(entries);
        }
    }

    private static bool IsSorted(ReadOnlySpan<ulong> keys)
    {
        for (var i = 1; i < keys.Length; i++)
        {
            if (keys[i] < keys[i - 1])
                return false;
        }
        return true;
    }

    private static ReadOnlySpan<RecordDigest> AsSpan(IReadOnlyList<RecordDigest> digests) => digests switch
    {
        RecordDigest[] array => array,
        List<RecordDigest> list => CollectionsMarshal.AsSpan(list),
        _ => digests.ToArray(),
    };

    /// <summary>Hash and record count of the node (<paramref name="level"/>, <paramref name="prefix"/>).</summary>
    public (ulong Hash, long Records) Node(int level, ulong prefix)
    {
        EnsureCovers(level, prefix);
        var (start, end) = Range(level, prefix);
        return (_prefixXor[end] ^ _prefixXor[start], end - start);
    }

    /// <summary>The digests of the records under the node, in id-hash order.</summary>
    public RecordDigest[] Digests(int level, ulong prefix)
    {
        EnsureCovers(level, prefix);
        var (start, end) = Range(level, prefix);
        var digests = new RecordDigest[end - start];
        for (var i = 0; i < digests.Length; i++)
            digests[i] = _digests[_positions[start + i]];
        return digests;
    }

    private void EnsureCovers(int level, ulong prefix)
    {
        if (!Covers(level, prefix))
            throw new InvalidOperationException($"The digest index does not hold the records of node ({level}, {prefix:x16})");
    }

    private (int Start, int End) Range(int level, ulong prefix)
    {
        if (level == 0)
            return (0, _idHashes.Length);
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
