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
    public static ulong IdHash(string id) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(id));

    /// <summary>What a record contributes to its leaf: id and content, so a copy with other content counts as different.</summary>
    public static ulong RecordHash(string id, ulong contentHash) =>
        XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(id), unchecked((long)contentHash));
}
