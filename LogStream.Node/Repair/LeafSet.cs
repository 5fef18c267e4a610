using LogStream.Storage;

namespace LogStream.Node.Repair;

/// <summary>A set of a bucket tree's stored leaves (1024 bits): the part of the id-hash space a digest index covers.</summary>
public sealed class LeafSet
{
    private readonly ulong[] _bits = new ulong[BucketTree.LeafCount / 64];

    public int Count { get; private set; }

    /// <summary>The leaves under the tree nodes (<c>Level</c>, <c>Prefix</c>): one leaf for a node at or below the leaves, all of a subtree's above.</summary>
    public static LeafSet Of(IEnumerable<(int Level, ulong Prefix)> nodes)
    {
        var set = new LeafSet();
        foreach (var (level, prefix) in nodes)
        {
            var (first, count) = Leaves(level, prefix);
            for (var leaf = first; leaf < first + count; leaf++)
                set.Add(leaf);
        }
        return set;
    }

    public static int LeafOf(ulong idHash) => MerkleLeaves.LeafOf(idHash);

    public bool Contains(int leaf) => (_bits[leaf >> 6] & (1UL << (leaf & 63))) != 0;

    public bool Contains(LeafSet other)
    {
        for (var i = 0; i < _bits.Length; i++)
        {
            if ((other._bits[i] & ~_bits[i]) != 0)
                return false;
        }
        return true;
    }

    public bool Covers(int level, ulong prefix)
    {
        var (first, count) = Leaves(level, prefix);
        for (var leaf = first; leaf < first + count; leaf++)
        {
            if (!Contains(leaf))
                return false;
        }
        return true;
    }

    private void Add(int leaf)
    {
        if (Contains(leaf))
            return;
        _bits[leaf >> 6] |= 1UL << (leaf & 63);
        Count++;
    }

    private static (int First, int Count) Leaves(int level, ulong prefix)
    {
        if (level >= BucketTree.LeafBits)
            return (LeafOf(prefix), 1);
        if (level == 0)
            return (0, BucketTree.LeafCount);
        return ((int)(prefix >> (64 - level)) << (BucketTree.LeafBits - level), 1 << (BucketTree.LeafBits - level));
    }
}
