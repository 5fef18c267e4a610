namespace LogStream.Storage;

/// <summary>Unsigned LEB128 (at most 5 bytes for 32 bits).</summary>
public static class Varint
{
    public static int Size(uint value) => value < 1u << 7 ? 1 : value < 1u << 14 ? 2 : value < 1u << 21 ? 3 : value < 1u << 28 ? 4 : 5;

    public static int Write(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out uint value, out int size)
    {
        value = 0;
        for (var i = 0; i < 5 && i < source.Length; i++)
        {
            var b = source[i];
            value |= (uint)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                size = i + 1;
                return i < 4 || b <= 0x0F;
            }
        }
        size = 0;
        return false;
    }
}
