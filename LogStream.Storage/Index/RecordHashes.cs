using System.Buffers.Binary;
using System.IO.Hashing;

namespace LogStream.Storage;

/// <summary>
/// The hashes anti-entropy works with: where a record sits in the tree is its <see cref="RecordIdHash"/> (the id
/// only, so two copies of a record sit in the same leaf), what it contributes to its leaf is <see cref="RecordHash"/>.
/// Frozen: every node of a cluster must compute them alike, and sealed segments persist the leaves built from them
/// (<see cref="MerkleLeaves"/>), so changing either makes every tree of a mixed-version cluster disagree.
/// </summary>
public static class RecordHashes
{
    /// <summary>
    /// What a record contributes to its leaf: id and content, so a copy with other content counts as different.
    /// From the id hash the store keeps, not the id: a digest index of a million records hashes 16 bytes per record.
    /// </summary>
    public static ulong RecordHash(ulong idHash, ulong contentHash)
    {
        Span<byte> pair = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(pair, idHash);
        BinaryPrimitives.WriteUInt64LittleEndian(pair[8..], contentHash);
        return XxHash64.HashToUInt64(pair);
    }
}
