using System.IO.Hashing;
using System.Text;

namespace LogStream.Node.Repair;

/// <summary>
/// The two hashes anti-entropy works with. Frozen: every node of a cluster must compute them alike, so changing
/// either makes every tree of a mixed-version cluster disagree.
/// </summary>
public static class RecordHashes
{
    /// <summary>Where a record sits in the tree: depends on its id only, so two copies of a record sit in the same leaf.</summary>
    public static ulong IdHash(string id) => Both(id, 0).IdHash;

    /// <summary>What a record contributes to its leaf: id and content, so a copy with other content counts as different.</summary>
    public static ulong RecordHash(string id, ulong contentHash) => Both(id, contentHash).RecordHash;

    /// <summary>Both hashes from one UTF-8 encoding of the id, without allocating (ids are at most 128 bytes).</summary>
    public static (ulong IdHash, ulong RecordHash) Both(string id, ulong contentHash)
    {
        var length = Encoding.UTF8.GetMaxByteCount(id.Length);
        Span<byte> buffer = length <= 512 ? stackalloc byte[512] : new byte[length];
        var bytes = buffer[..Encoding.UTF8.GetBytes(id, buffer)];
        return (XxHash64.HashToUInt64(bytes), XxHash64.HashToUInt64(bytes, unchecked((long)contentHash)));
    }
}
