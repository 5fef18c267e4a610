using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace LogStream.Storage;

/// <summary>
/// The canonical binary encoding of a <see cref="LogRecord"/> (format version 1, little-endian):
/// <code>
/// offset 0  i64    timestamp: 100 ns ticks since 1970-01-01T00:00Z
/// offset 8  u8     level (LogSeverity value)
/// offset 9  varint id length, then the id (UTF-8)
///           varint source length, source (UTF-8)
///           varint message length, message (UTF-8)
///           varint attribute count, then per attribute (sorted by key, ordinal):
///             varint key length, key (UTF-8), varint value length, value (UTF-8)
/// </code>
/// Varints are unsigned LEB128 (7 bits a byte, low group first). The encoding is deterministic, so its
/// xxHash3-64 is the record's content hash on every node. The timestamp and level sit at fixed offsets so
/// readers filter on them without decoding any string.
/// </summary>
public static class LogRecordCodec
{
    /// <summary>Bytes before the id: timestamp and level.</summary>
    public const int FixedPrefixBytes = 9;

    /// <summary>Bytes <see cref="Encode(LogRecord, Span{byte})"/> writes for <paramref name="record"/>.</summary>
    public static int GetEncodedLength(LogRecord record)
    {
        var attributes = record.Attributes;
        var attributeBytes = 0;
        for (var i = 0; i < attributes.Count; i++)
            attributeBytes += RecordEncoder.FieldLength(Encoding.UTF8.GetByteCount(attributes.KeyAt(i))) + RecordEncoder.FieldLength(Encoding.UTF8.GetByteCount(attributes.ValueAt(i)));
        return RecordEncoder.Length(record.IdByteCount, record.SourceByteCount, record.MessageByteCount, attributes.Count, attributeBytes);
    }

    /// <summary>Writes the canonical encoding; returns the bytes written.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public static int Encode(LogRecord record, Span<byte> destination)
    {
        var encoder = new RecordEncoder(destination);
        encoder.Header(record.UnixTicks, record.Level);
        encoder.Field(record.Id, record.IdByteCount);
        encoder.Field(record.Source, record.SourceByteCount);
        encoder.Field(record.Message, record.MessageByteCount);
        var attributes = record.Attributes;
        encoder.AttributeCount(attributes.Count);
        for (var i = 0; i < attributes.Count; i++)
        {
            encoder.Field(attributes.KeyAt(i), Encoding.UTF8.GetByteCount(attributes.KeyAt(i)));
            encoder.Field(attributes.ValueAt(i), Encoding.UTF8.GetByteCount(attributes.ValueAt(i)));
        }
        return encoder.Written;
    }

    public static byte[] Encode(LogRecord record)
    {
        var bytes = new byte[GetEncodedLength(record)];
        Encode(record, bytes);
        return bytes;
    }

    /// <summary>The 64-bit content hash: xxHash3 of the canonical encoding (which includes the id).</summary>
    public static ulong ComputeContentHash(ReadOnlySpan<byte> encoded) => XxHash3.HashToUInt64(encoded);

    public static ulong ComputeContentHash(LogRecord record) => ComputeContentHash(Encode(record));

    /// <summary>Whether the bytes are a well-formed encoding (every length in bounds, nothing after the last attribute).</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> encoded) => EncodedRecord.TryParse(encoded, out _);

    /// <exception cref="InvalidDataException">The bytes are not a well-formed encoding.</exception>
    public static LogRecord Decode(ReadOnlySpan<byte> encoded)
    {
        if (!EncodedRecord.TryParse(encoded, out var view))
            throw new InvalidDataException("Malformed record encoding.");
        return view.ToRecord();
    }
}

/// <summary>
/// Writes the canonical encoding (<see cref="LogRecordCodec"/>) field by field, for callers that hold the fields as
/// UTF-8 already (the API's fast path reads them straight from the request body): the layout stays in one place.
/// Call <see cref="Header"/>, then <see cref="Field(ReadOnlySpan{byte})"/> for id, source and message,
/// <see cref="AttributeCount"/>, and a key and a value field per attribute, sorted by key (ordinal).
/// </summary>
public ref struct RecordEncoder(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;

    /// <summary>Bytes written so far.</summary>
    public int Written { get; private set; }

    /// <summary>Bytes a field of <paramref name="utf8Bytes"/> bytes takes (length prefix and text).</summary>
    public static int FieldLength(int utf8Bytes) => Varint.Size((uint)utf8Bytes) + utf8Bytes;

    /// <summary>Bytes of a record whose id, source and message have these UTF-8 lengths and whose attribute fields take <paramref name="attributeFieldBytes"/>.</summary>
    public static int Length(int idBytes, int sourceBytes, int messageBytes, int attributeCount, int attributeFieldBytes) =>
        LogRecordCodec.FixedPrefixBytes + FieldLength(idBytes) + FieldLength(sourceBytes) + FieldLength(messageBytes)
        + Varint.Size((uint)attributeCount) + attributeFieldBytes;

    public void Header(long unixTicks, LogSeverity level)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_destination, unixTicks);
        _destination[8] = (byte)level;
        Written = LogRecordCodec.FixedPrefixBytes;
    }

    public void Field(ReadOnlySpan<byte> utf8)
    {
        Written += Varint.Write(_destination[Written..], (uint)utf8.Length);
        utf8.CopyTo(_destination[Written..]);
        Written += utf8.Length;
    }

    /// <summary>A field from a string whose UTF-8 length the caller knows.</summary>
    public void Field(string value, int utf8Bytes)
    {
        Written += Varint.Write(_destination[Written..], (uint)utf8Bytes);
        Written += Encoding.UTF8.GetBytes(value, _destination[Written..]);
    }

    public void AttributeCount(int count) => Written += Varint.Write(_destination[Written..], (uint)count);
}

/// <summary>A parsed view over an encoded record: fields as spans, nothing decoded until asked.</summary>
internal readonly ref struct EncodedRecord
{
    private readonly ReadOnlySpan<byte> _bytes;
    private readonly int _idStart, _idLength, _sourceStart, _sourceLength, _messageStart, _messageLength, _attributesStart;

    private EncodedRecord(ReadOnlySpan<byte> bytes, int idStart, int idLength, int sourceStart, int sourceLength,
        int messageStart, int messageLength, int attributesStart)
    {
        _bytes = bytes;
        _idStart = idStart;
        _idLength = idLength;
        _sourceStart = sourceStart;
        _sourceLength = sourceLength;
        _messageStart = messageStart;
        _messageLength = messageLength;
        _attributesStart = attributesStart;
    }

    public long UnixTicks => BinaryPrimitives.ReadInt64LittleEndian(_bytes);

    public LogSeverity Level => (LogSeverity)_bytes[8];

    public ReadOnlySpan<byte> Id => _bytes.Slice(_idStart, _idLength);

    public ReadOnlySpan<byte> Source => _bytes.Slice(_sourceStart, _sourceLength);

    public ReadOnlySpan<byte> Message => _bytes.Slice(_messageStart, _messageLength);

    public static long ReadTicks(ReadOnlySpan<byte> encoded) => BinaryPrimitives.ReadInt64LittleEndian(encoded);

    public static LogSeverity ReadLevel(ReadOnlySpan<byte> encoded) => (LogSeverity)encoded[8];

    /// <summary>Checks the whole structure (every length within bounds, attributes complete, nothing after).</summary>
    public static bool TryParse(ReadOnlySpan<byte> bytes, out EncodedRecord view)
    {
        view = default;
        if (bytes.Length < LogRecordCodec.FixedPrefixBytes + 4 || bytes[8] > (byte)LogSeverities.Max)
            return false;
        var position = LogRecordCodec.FixedPrefixBytes;
        if (!TrySkipString(bytes, ref position, out var idStart, out var idLength) || idLength is 0 or > LogRecord.MaxIdBytes)
            return false;
        if (!TrySkipString(bytes, ref position, out var sourceStart, out var sourceLength) || sourceLength is 0 or > LogRecord.MaxSourceBytes)
            return false;
        if (!TrySkipString(bytes, ref position, out var messageStart, out var messageLength))
            return false;
        var attributesStart = position;
        if (!Varint.TryRead(bytes[position..], out var count, out var size))
            return false;
        position += size;
        for (var i = 0; i < count; i++)
        {
            if (!TrySkipString(bytes, ref position, out _, out _) || !TrySkipString(bytes, ref position, out _, out _))
                return false;
        }
        if (position != bytes.Length)
            return false;
        view = new EncodedRecord(bytes, idStart, idLength, sourceStart, sourceLength, messageStart, messageLength, attributesStart);
        return true;
    }

    /// <summary>
    /// For bytes that <see cref="TryParse"/> accepted: true when encoding the decoded record gives these very bytes
    /// (every varint minimal, every string valid UTF-8), so they may be stored as they are.
    /// </summary>
    public static bool IsCanonical(ReadOnlySpan<byte> bytes)
    {
        var position = LogRecordCodec.FixedPrefixBytes;
        for (var i = 0; i < 3; i++)
        {
            if (!IsCanonicalString(bytes, ref position))
                return false;
        }
        Varint.TryRead(bytes[position..], out var count, out var size);
        if (size != Varint.Size(count))
            return false;
        position += size;
        for (var i = 0; i < 2 * count; i++)
        {
            if (!IsCanonicalString(bytes, ref position))
                return false;
        }
        return true;
    }

    private static bool IsCanonicalString(ReadOnlySpan<byte> bytes, ref int position)
    {
        Varint.TryRead(bytes[position..], out var length, out var size);
        if (size != Varint.Size(length))
            return false;
        position += size;
        var text = bytes.Slice(position, (int)length);
        position += (int)length;
        return System.Text.Unicode.Utf8.IsValid(text);
    }

    /// <summary>Reads only the id (after the fixed prefix); false when the bytes cannot hold one.</summary>
    public static bool TryReadId(ReadOnlySpan<byte> bytes, out ReadOnlySpan<byte> id)
    {
        id = default;
        var position = LogRecordCodec.FixedPrefixBytes;
        if (bytes.Length <= position || !TrySkipString(bytes, ref position, out var start, out var length) || length is 0 or > LogRecord.MaxIdBytes)
            return false;
        id = bytes.Slice(start, length);
        return true;
    }

    public string IdString() => Encoding.UTF8.GetString(Id);

    public LogRecord ToRecord(string? knownId = null)
    {
        var id = knownId ?? Encoding.UTF8.GetString(Id);
        var source = Encoding.UTF8.GetString(Source);
        var message = Encoding.UTF8.GetString(Message);
        var position = _attributesStart;
        Varint.TryRead(_bytes[position..], out var count, out var size);
        position += size;
        var attributes = RecordAttributes.Empty;
        if (count > 0)
        {
            var keys = new string[count];
            var values = new string[count];
            for (var i = 0; i < count; i++)
            {
                TrySkipString(_bytes, ref position, out var ks, out var kl);
                keys[i] = Encoding.UTF8.GetString(_bytes.Slice(ks, kl));
                TrySkipString(_bytes, ref position, out var vs, out var vl);
                values[i] = Encoding.UTF8.GetString(_bytes.Slice(vs, vl));
            }
            attributes = RecordAttributes.FromSorted(keys, values);
        }
        return new LogRecord(id, UnixTicks, Level, source, message, attributes, _idLength, _sourceLength, _messageLength);
    }

    private static bool TrySkipString(ReadOnlySpan<byte> bytes, ref int position, out int start, out int length)
    {
        start = length = 0;
        if (position >= bytes.Length || !Varint.TryRead(bytes[position..], out var value, out var size))
            return false;
        if (value > (uint)(bytes.Length - position - size))
            return false;
        start = position + size;
        length = (int)value;
        position = start + length;
        return true;
    }
}

