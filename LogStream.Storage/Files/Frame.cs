using System.Buffers.Binary;

namespace LogStream.Storage;

/// <summary>
/// The frame every append-only file of LogStream is made of (log segments, hint segments, the encoded batches of the
/// write path): u32 payload length, u32 CRC-32C over the length bytes and the payload, then the payload. Little-endian.
/// </summary>
public static class Frame
{
    /// <summary>Bytes before the payload: length and CRC.</summary>
    public const int HeaderBytes = 8;

    /// <summary>Largest payload a reader accepts (16 MiB), independent of configuration.</summary>
    public const int MaxPayload = 16 * 1024 * 1024;

    /// <summary>Writes the header of the frame at <paramref name="frame"/>[0] whose payload is already in place after it.</summary>
    public static void WriteHeader(Span<byte> frame, int payloadLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], Checksum(frame, payloadLength));
    }

    /// <summary>True when the CRC of a frame (header at <paramref name="frame"/>[0]) matches its payload.</summary>
    public static bool ChecksumMatches(ReadOnlySpan<byte> frame, int payloadLength) =>
        Checksum(frame, payloadLength) == BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]);

    private static uint Checksum(ReadOnlySpan<byte> frame, int payloadLength)
    {
        var crc = Crc32C.Append(Crc32C.Start, frame[..4]);
        crc = Crc32C.Append(crc, frame.Slice(HeaderBytes, payloadLength));
        return Crc32C.Finish(crc);
    }
}
