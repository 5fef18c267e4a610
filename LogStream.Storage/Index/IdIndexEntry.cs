using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace LogStream.Storage;

/// <summary>
/// One record in a sealed segment's id index: id hash, content hash and the block that holds it. The index is sorted
/// by (id hash, content hash), so a duplicate check or a repair's digest listing reads a page or a range of it, never
/// the records; 20 bytes a record on disk, none in memory.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct IdIndexEntry : IComparable<IdIndexEntry>
{
    public const int Bytes = 20;

    public ulong IdHash;
    public ulong ContentHash;
    public int Block;

    public IdIndexEntry(ulong idHash, ulong contentHash, int block)
    {
        IdHash = idHash;
        ContentHash = contentHash;
        Block = block;
    }

    public readonly int CompareTo(IdIndexEntry other)
    {
        var byId = IdHash.CompareTo(other.IdHash);
        return byId != 0 ? byId : ContentHash.CompareTo(other.ContentHash);
    }

    public readonly void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, IdHash);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], ContentHash);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], Block);
    }

    public static IdIndexEntry ReadFrom(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(source), BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(source[16..]));

    public readonly RecordDigest ToDigest() => new(IdHash, ContentHash);
}
