using System.Buffers.Binary;

namespace LogStream.Storage;

/// <summary>
/// The stored level of a bucket's Merkle tree: the id-hash space cut into <see cref="LeafCount"/> leaves by the top
/// <see cref="LeafBits"/> bits of each record's <see cref="RecordIdHash"/>; a leaf holds the XOR of its records'
/// <see cref="RecordHashes.RecordHash"/> and their count. XOR is order-free and its own inverse, so records are added
/// and removed in O(1). A sealed segment persists its leaves (12 KiB), so start-up reads them instead of hashing every
/// record; anti-entropy builds its trees from them.
/// </summary>
public sealed class MerkleLeaves
{
    public const int LeafBits = 10;
    public const int LeafCount = 1 << LeafBits;

    /// <summary>On disk: per leaf a u64 hash and a u32 count, little-endian.</summary>
    public const int SerializedBytes = LeafCount * 12;

    private readonly ulong[] _hashes = new ulong[LeafCount];
    private readonly int[] _counts = new int[LeafCount];

    public static int LeafOf(ulong idHash) => (int)(idHash >> (64 - LeafBits));

    public ReadOnlySpan<ulong> Hashes => _hashes;

    public ReadOnlySpan<int> Counts => _counts;

    public ulong Root
    {
        get
        {
            ulong root = 0;
            foreach (var hash in _hashes)
                root ^= hash;
            return root;
        }
    }

    public long Records
    {
        get
        {
            long records = 0;
            foreach (var count in _counts)
                records += count;
            return records;
        }
    }

    public void Add(ulong idHash, ulong contentHash) => Apply(idHash, contentHash, +1);

    public void Remove(ulong idHash, ulong contentHash) => Apply(idHash, contentHash, -1);

    private void Apply(ulong idHash, ulong contentHash, int delta)
    {
        var leaf = LeafOf(idHash);
        _hashes[leaf] ^= RecordHashes.RecordHash(idHash, contentHash);
        _counts[leaf] += delta;
    }

    /// <summary>Adds every record of <paramref name="other"/> (disjoint record sets: a sealed segment and the log beside it).</summary>
    public void Add(MerkleLeaves other)
    {
        for (var i = 0; i < LeafCount; i++)
        {
            _hashes[i] ^= other._hashes[i];
            _counts[i] += other._counts[i];
        }
    }

    public void WriteTo(Span<byte> destination)
    {
        for (var i = 0; i < LeafCount; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination[(12 * i)..], _hashes[i]);
            BinaryPrimitives.WriteInt32LittleEndian(destination[(12 * i + 8)..], _counts[i]);
        }
    }

    /// <exception cref="InvalidDataException">A count is negative.</exception>
    public static MerkleLeaves ReadFrom(ReadOnlySpan<byte> source)
    {
        var leaves = new MerkleLeaves();
        for (var i = 0; i < LeafCount; i++)
        {
            leaves._hashes[i] = BinaryPrimitives.ReadUInt64LittleEndian(source[(12 * i)..]);
            leaves._counts[i] = BinaryPrimitives.ReadInt32LittleEndian(source[(12 * i + 8)..]);
            if (leaves._counts[i] < 0)
                throw new InvalidDataException("Negative record count in the Merkle leaves.");
        }
        return leaves;
    }
}
