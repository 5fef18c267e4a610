using System.IO.Hashing;
using System.Text;

namespace LogStream.Storage;

/// <summary>
/// The 64-bit hash of a record id: XxHash64 of its UTF-8 bytes. The store computes it once per record, on append
/// or at start-up, and keeps it with the record's digest. Frozen: anti-entropy places records in its Merkle trees by
/// it, so every node of a cluster must compute it alike.
/// </summary>
public static class RecordIdHash
{
    public static ulong Of(ReadOnlySpan<byte> utf8Id) => XxHash64.HashToUInt64(utf8Id);

    /// <summary>Without allocating (ids are at most 128 bytes).</summary>
    public static ulong Of(string id)
    {
        var length = Encoding.UTF8.GetMaxByteCount(id.Length);
        Span<byte> buffer = length <= 512 ? stackalloc byte[512] : new byte[length];
        return Of(buffer[..Encoding.UTF8.GetBytes(id, buffer)]);
    }
}
