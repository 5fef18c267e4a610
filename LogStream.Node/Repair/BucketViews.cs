using System.Collections.Concurrent;
using LogStream.Node.Storage;

namespace LogStream.Node.Repair;

/// <summary>
/// Any node of any local bucket's tree: the stored levels from <see cref="MerkleTrees"/>, deeper ones from a
/// <see cref="DigestIndex"/> built on demand and reused while the bucket does not change.
/// </summary>
public sealed class BucketViews(ILogStore store, MerkleTrees trees)
{
    /// <summary>Indexes kept at most (each is ~40 bytes per record of its bucket).</summary>
    private const int MaxCachedIndexes = 16;

    private readonly ConcurrentDictionary<BucketKey, DigestIndex> _indexes = new();

    public (ulong Root, long Records) Root(BucketKey bucket) => trees.Find(bucket)?.Root ?? (0, 0);

    public (ulong Hash, long Records) Node(BucketKey bucket, int level, ulong prefix)
    {
        var tree = trees.Find(bucket);
        if (tree is null)
            return (0, 0);
        return level <= BucketTree.LeafBits ? tree.Node(level, prefix) : Index(bucket, tree).Node(level, prefix);
    }

    /// <summary>The digests of the records under a node.</summary>
    public RecordDigest[] Digests(BucketKey bucket, int level, ulong prefix)
    {
        var tree = trees.Find(bucket);
        return tree is null ? [] : Index(bucket, tree).Digests(level, prefix).ToArray();
    }

    private DigestIndex Index(BucketKey bucket, BucketTree tree)
    {
        // Read the version before the digests: a change in between makes the index look stale, never fresh.
        var version = tree.Version;
        if (_indexes.TryGetValue(bucket, out var cached) && cached.Version == version)
            return cached;
        var index = DigestIndex.Build(store.GetDigests(bucket), version);
        if (_indexes.Count >= MaxCachedIndexes)
            _indexes.Clear();
        _indexes[bucket] = index;
        return index;
    }
}
