using LogStream.Storage;

namespace LogStream.Node.Repair;

/// <summary>
/// The Merkle tree of one (partition, bucket). Leaves are the 2^<see cref="LeafBits"/> segments of the id-hash space;
/// a leaf's hash is the XOR of the hashes of its records, an inner node's the XOR of its leaves, the root the XOR of
/// all. XOR is order-independent and its own inverse, so adding or removing a record updates a leaf and the root in
/// O(1) and the tree never needs a rebuild scan. Deeper nodes (below a leaf) are computed on demand from the bucket's
/// record digests (<see cref="DigestIndex"/>) when a repair descends that far.
/// </summary>
public sealed class BucketTree
{
    /// <summary>1024 leaves: 8 KiB of hashes and 4 KiB of counts per bucket.</summary>
    public const int LeafBits = MerkleLeaves.LeafBits;

    public const int LeafCount = MerkleLeaves.LeafCount;

    /// <summary>Memory of one tree.</summary>
    public const int Bytes = LeafCount * 12 + 96;

    private readonly ulong[] _leaves = new ulong[LeafCount];
    private readonly int[] _counts = new int[LeafCount];
    private ulong _root;
    private long _records;
    private long _version;
    private long _lastWrite;

    /// <summary>Grows on every change; a <see cref="DigestIndex"/> built at one version is stale at the next.</summary>
    public long Version => Interlocked.Read(ref _version);

    public (ulong Root, long Records) Root
    {
        get
        {
            lock (_leaves)
                return (_root, _records);
        }
    }

    /// <summary>When records were last added (a <see cref="TimeProvider"/> timestamp; 0 before any).</summary>
    public long LastWrite => Interlocked.Read(ref _lastWrite);

    /// <summary>Marks the bucket as written to at <paramref name="timestamp"/>.</summary>
    public void Written(long timestamp) => Interlocked.Exchange(ref _lastWrite, timestamp);

    public BucketTree()
    {
    }

    /// <summary>A tree with the leaves the store persisted or rebuilt for the bucket.</summary>
    /// <param name="version">Past the version of the tree it replaces, so digest indexes built from that one look stale.</param>
    public BucketTree(MerkleLeaves leaves, long version = 0)
    {
        _version = version;
        leaves.Hashes.CopyTo(_leaves);
        leaves.Counts.CopyTo(_counts);
        _root = leaves.Root;
        _records = leaves.Records;
    }

    public void Add(in RecordDigest record) => Apply(record.IdHash, record.ContentHash, +1);

    public void Remove(in RecordDigest record) => Apply(record.IdHash, record.ContentHash, -1);

    private void Apply(ulong idHash, ulong contentHash, int delta)
    {
        var hash = RecordHashes.RecordHash(idHash, contentHash);
        var leaf = (int)(idHash >> (64 - LeafBits));
        lock (_leaves)
        {
            _leaves[leaf] ^= hash;
            _counts[leaf] += delta;
            _root ^= hash;
            _records += delta;
            _version++;
        }
    }

    /// <summary>Hash and record count of a node at <paramref name="level"/> ≤ <see cref="LeafBits"/> (the top bits of <paramref name="prefix"/>).</summary>
    public (ulong Hash, long Records) Node(int level, ulong prefix)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, LeafBits);
        if (level == 0)
            return Root;
        var first = (int)(prefix >> (64 - level)) << (LeafBits - level);
        var span = 1 << (LeafBits - level);
        ulong hash = 0;
        long records = 0;
        lock (_leaves)
        {
            for (var i = first; i < first + span; i++)
            {
                hash ^= _leaves[i];
                records += _counts[i];
            }
        }
        return (hash, records);
    }
}
