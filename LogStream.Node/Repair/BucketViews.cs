using System.Collections.Concurrent;
using LogStream.Storage;

namespace LogStream.Node.Repair;

/// <summary>
/// Any node of any local bucket's tree: the stored levels from <see cref="MerkleTrees"/>, deeper ones from a
/// <see cref="DigestIndex"/> built on demand and reused while the bucket does not change.
/// </summary>
public sealed class BucketViews(ILogStore store, MerkleTrees trees)
{
    /// <summary>Indexes kept at most (each ~36 bytes per record of its leaves: the listing, id hashes, prefix XORs, order).</summary>
    private const int MaxCachedIndexes = 16;

    private readonly ConcurrentDictionary<BucketKey, DigestIndex> _indexes = new();

    /// <summary>Memory of the cached digest indexes.</summary>
    public long Bytes => _indexes.Values.Sum(index => index.Bytes);

    public (ulong Root, long Records) Root(BucketKey bucket) => trees.Find(bucket)?.Root ?? (0, 0);

    /// <summary>
    /// A look at the tree nodes <paramref name="nodes"/> of one bucket for one request (one level of a descent, one
    /// digest exchange): below the stored leaves it takes a digest index of their leaves once, so records landing
    /// meanwhile cannot make every node of the request rebuild it. Slightly stale answers are harmless: a repair
    /// verifies the roots at the end.
    /// </summary>
    /// <param name="stop">
    /// For background work: asked before and while a digest index is built (a bucket of millions takes a while);
    /// true abandons the request with <see cref="BucketBusyException"/>.
    /// </param>
    public BucketView View(BucketKey bucket, IEnumerable<(int Level, ulong Prefix)> nodes, Func<bool>? stop = null) =>
        new(this, bucket, trees.Find(bucket), LeafSet.Of(nodes), stop);

    private DigestIndex Index(BucketKey bucket, BucketTree tree, LeafSet leaves, Func<bool>? stop)
    {
        // Read the version before the digests: a change in between makes the index look stale, never fresh.
        var version = tree.Version;
        if (_indexes.TryGetValue(bucket, out var cached) && cached.Version == version && cached.Covers(leaves))
            return cached;
        if (stop?.Invoke() == true)
            throw new BucketBusyException();
        // Only the leaves asked for: a repair descends into the differing ones only (a sealed bucket reads just those
        // ranges of its id index; records of log segments are read to hash their content). No lock that ingest takes.
        var some = leaves.Count == BucketTree.LeafCount ? null : leaves;
        var digests = store.GetDigests(bucket, some is null ? null : some.Contains);
        var index = DigestIndex.Build(digests, version, some, stop);
        if (_indexes.Count >= MaxCachedIndexes)
            _indexes.Clear();
        _indexes[bucket] = index;
        return index;
    }

    /// <summary>See <see cref="View"/>.</summary>
    public sealed class BucketView(BucketViews views, BucketKey bucket, BucketTree? tree, LeafSet leaves, Func<bool>? stop)
    {
        private DigestIndex? _index;

        private DigestIndex Index => _index ??= views.Index(bucket, tree!, leaves, stop);

        public (ulong Hash, long Records) Node(int level, ulong prefix)
        {
            if (tree is null)
                return (0, 0);
            return level <= BucketTree.LeafBits ? tree.Node(level, prefix) : Index.Node(level, prefix);
        }

        /// <summary>The digests of the records under a node (one of those the view was taken for).</summary>
        public RecordDigest[] Digests(int level, ulong prefix) => tree is null ? [] : Index.Digests(level, prefix);
    }
}
