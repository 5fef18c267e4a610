using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using LogStream.Storage;

namespace LogStream.Node.Api;

// The fast path: a record as well-formed clients send it is encoded straight from the body's bytes (no string but
// the id, no LogRecord). Anything it is not sure about — an escaped string, an unknown or repeated field, a value out
// of range, a level or timestamp in an unusual spelling, any error — sends the record back to the general path
// (ReadRecord), which reads it again from the start and decides, so both give the same records and the same errors.
public sealed partial class RecordBatchParser
{
    private static ReadOnlySpan<byte> IdName => "id"u8;
    private static ReadOnlySpan<byte> TimestampName => "timestamp"u8;
    private static ReadOnlySpan<byte> LevelName => "level"u8;
    private static ReadOnlySpan<byte> SourceName => "source"u8;
    private static ReadOnlySpan<byte> MessageName => "message"u8;
    private static ReadOnlySpan<byte> AttributesName => "attributes"u8;

    /// <summary>Where an attribute's key and value sit in the input (a value of length -1 is <c>true</c>, -2 <c>false</c>).</summary>
    private struct AttributeSlot
    {
        public int KeyStart, KeyLength, ValueStart, ValueLength;
    }

    /// <summary>Reads one record object (the reader on its StartObject, and after it on its EndObject).</summary>
    private static void ReadRecordFastOrGeneral(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, int index, BatchContext context)
    {
        if (context.FastPath && context.ErrorCount == 0)
        {
            var start = reader;
            try
            {
                if (TryReadRecordFast(ref reader, input, context))
                    return;
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                // Malformed JSON or text: the general path meets it too and reports (or throws) as it always did.
            }
            reader = start;
        }
        ReadRecord(ref reader, index, context);
    }

    private static bool TryReadRecordFast(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, BatchContext context)
    {
        const int HasId = 1, HasTimestamp = 2, HasLevel = 4, HasSource = 8, HasMessage = 16, HasAttributes = 32;
        var seen = 0;
        int idStart = 0, idLength = 0, timestampStart = 0, timestampLength = 0, levelStart = 0, levelLength = 0;
        int sourceStart = 0, sourceLength = 0, messageStart = 0, messageLength = 0;
        var attributeCount = 0;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.ValueIsEscaped)
                return false;
            var name = reader.ValueSpan;
            int field;
            if (name.SequenceEqual(IdName))
                field = HasId;
            else if (name.SequenceEqual(TimestampName))
                field = HasTimestamp;
            else if (name.SequenceEqual(LevelName))
                field = HasLevel;
            else if (name.SequenceEqual(SourceName))
                field = HasSource;
            else if (name.SequenceEqual(MessageName))
                field = HasMessage;
            else if (name.SequenceEqual(AttributesName))
                field = HasAttributes;
            else
                return false;
            if ((seen & field) != 0)
                return false;
            seen |= field;
            reader.Read();

            if (field == HasAttributes)
            {
                if (!TryReadAttributesFast(ref reader, context, out attributeCount))
                    return false;
                continue;
            }
            if (reader.TokenType != JsonTokenType.String)
                return false;
            if (reader.ValueIsEscaped)
            {
                // Messages often quote something (\"): unescape those into the scratch buffer. Any other escaped
                // field, or a \u escape (a lone surrogate is an error the general path words), goes the general way.
                if (field != HasMessage || reader.ValueSpan.IndexOf("\\u"u8) >= 0)
                    return false;
                if (context.Scratch.Length < reader.ValueSpan.Length)
                    context.Scratch = new byte[Math.Max(reader.ValueSpan.Length, context.Scratch.Length * 2)];
                (messageStart, messageLength) = (-1, reader.CopyString(context.Scratch));
                continue;
            }
            var valueStart = (int)reader.TokenStartIndex + 1;
            var valueLength = reader.ValueSpan.Length;
            switch (field)
            {
                case HasId:
                    (idStart, idLength) = (valueStart, valueLength);
                    break;
                case HasTimestamp:
                    (timestampStart, timestampLength) = (valueStart, valueLength);
                    break;
                case HasLevel:
                    (levelStart, levelLength) = (valueStart, valueLength);
                    break;
                case HasSource:
                    (sourceStart, sourceLength) = (valueStart, valueLength);
                    break;
                default:
                    (messageStart, messageLength) = (valueStart, valueLength);
                    break;
            }
        }

        const int Required = HasTimestamp | HasLevel | HasSource | HasMessage;
        if ((seen & Required) != Required)
            return false;
        var id = input.Slice(idStart, idLength);
        var source = input.Slice(sourceStart, sourceLength);
        var message = messageStart < 0 ? context.Scratch.AsSpan(0, messageLength) : input.Slice(messageStart, messageLength);
        if ((seen & HasId) != 0 && (id.Length is 0 or > LogRecord.MaxIdBytes || !Utf8.IsValid(id)))
            return false;
        if (source.Length is 0 or > LogRecord.MaxSourceBytes || !Utf8.IsValid(source))
            return false;
        if (message.Length > context.Options.MaxMessageBytes || !Utf8.IsValid(message))
            return false;
        if (!TryParseLevelFast(input.Slice(levelStart, levelLength), out var level))
            return false;
        if (!Rfc3339Bytes.TryParseUtcTicks(input.Slice(timestampStart, timestampLength), out var utcTicks)
            || utcTicks < context.OldestAcceptedTicks || utcTicks > context.NewestAcceptedTicks)
            return false;

        var slots = context.Attributes.AsSpan(0, attributeCount);
        if (!SortKeys(slots, input))
            return false;

        // Everything checked: encode (LogRecordCodec's layout) straight into the batch.
        var idString = (seen & HasId) != 0 ? Encoding.UTF8.GetString(id) : context.NewId();
        var idByteCount = (seen & HasId) != 0 ? id.Length : Encoding.UTF8.GetByteCount(idString);
        var attributeBytes = 0;
        foreach (ref readonly var slot in slots)
            attributeBytes += RecordEncoder.FieldLength(slot.KeyLength) + RecordEncoder.FieldLength(ValueBytes(slot, input).Length);
        var length = RecordEncoder.Length(idByteCount, source.Length, message.Length, attributeCount, attributeBytes);

        var batch = context.Batch;
        var encoder = new RecordEncoder(batch.BeginRecord(length));
        encoder.Header(utcTicks - DateTimeOffset.UnixEpoch.UtcTicks, level);
        if ((seen & HasId) != 0)
            encoder.Field(id);
        else
            encoder.Field(idString, idByteCount);
        encoder.Field(source);
        encoder.Field(message);
        encoder.AttributeCount(attributeCount);
        foreach (ref readonly var slot in slots)
        {
            encoder.Field(input.Slice(slot.KeyStart, slot.KeyLength));
            encoder.Field(ValueBytes(slot, input));
        }
        batch.CommitRecord(idString, batch.SourceString(source));
        return true;
    }

    /// <summary>A flat object of ASCII keys and unescaped string, number or boolean values, within the limits; sorted by key.</summary>
    private static bool TryReadAttributesFast(ref Utf8JsonReader reader, BatchContext context, out int count)
    {
        count = 0;
        if (reader.TokenType == JsonTokenType.Null)
            return true;
        if (reader.TokenType != JsonTokenType.StartObject)
            return false;
        var slots = context.Attributes;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.ValueIsEscaped)
                return false;
            var keyStart = (int)reader.TokenStartIndex + 1;
            var key = reader.ValueSpan;
            if (key.Length is 0 or > LogRecord.MaxIdBytes || !Ascii.IsValid(key))
                return false;
            var keyLength = key.Length;
            reader.Read();
            int valueStart, valueLength;
            switch (reader.TokenType)
            {
                case JsonTokenType.String when !reader.ValueIsEscaped:
                    valueStart = (int)reader.TokenStartIndex + 1;
                    valueLength = reader.ValueSpan.Length;
                    if (!Utf8.IsValid(reader.ValueSpan))
                        return false;
                    break;
                case JsonTokenType.Number:
                    valueStart = (int)reader.TokenStartIndex;
                    valueLength = reader.ValueSpan.Length;
                    break;
                case JsonTokenType.True:
                    (valueStart, valueLength) = (0, -1);
                    break;
                case JsonTokenType.False:
                    (valueStart, valueLength) = (0, -2);
                    break;
                default:
                    return false;
            }
            if (valueLength > context.Options.MaxAttributeValueBytes || count == context.Options.MaxAttributes)
                return false;
            if (count == slots.Length)
            {
                Array.Resize(ref slots, slots.Length * 2);
                context.Attributes = slots;
            }
            slots[count++] = new AttributeSlot { KeyStart = keyStart, KeyLength = keyLength, ValueStart = valueStart, ValueLength = valueLength };
        }
        return true;
    }

    /// <summary>Sorts the slots by key (ASCII, so byte order is ordinal order); false when a key repeats.</summary>
    private static bool SortKeys(Span<AttributeSlot> slots, ReadOnlySpan<byte> input)
    {
        for (var i = 1; i < slots.Length; i++)
        {
            var slot = slots[i];
            var key = input.Slice(slot.KeyStart, slot.KeyLength);
            var j = i - 1;
            int order;
            while (j >= 0 && (order = input.Slice(slots[j].KeyStart, slots[j].KeyLength).SequenceCompareTo(key)) >= 0)
            {
                if (order == 0)
                    return false;
                slots[j + 1] = slots[j];
                j--;
            }
            slots[j + 1] = slot;
        }
        return true;
    }

    private static ReadOnlySpan<byte> ValueBytes(in AttributeSlot slot, ReadOnlySpan<byte> input) => slot.ValueLength switch
    {
        -1 => "true"u8,
        -2 => "false"u8,
        _ => input.Slice(slot.ValueStart, slot.ValueLength),
    };

    /// <summary>The canonical names and the aliases, in any ASCII case, nothing around them.</summary>
    private static bool TryParseLevelFast(ReadOnlySpan<byte> text, out LogSeverity level)
    {
        level = default;
        if (text.Length is < 3 or > 8)
            return false;
        Span<byte> upper = stackalloc byte[8];
        if (Ascii.ToUpper(text, upper, out var written) != System.Buffers.OperationStatus.Done)
            return false;
        LogSeverity? parsed = upper[..written] switch
        {
            var t when t.SequenceEqual("INFO"u8) => LogSeverity.Info,
            var t when t.SequenceEqual("DEBUG"u8) => LogSeverity.Debug,
            var t when t.SequenceEqual("WARN"u8) || t.SequenceEqual("WARNING"u8) => LogSeverity.Warn,
            var t when t.SequenceEqual("ERROR"u8) || t.SequenceEqual("ERR"u8) => LogSeverity.Error,
            var t when t.SequenceEqual("TRACE"u8) => LogSeverity.Trace,
            var t when t.SequenceEqual("FATAL"u8) || t.SequenceEqual("CRITICAL"u8) => LogSeverity.Fatal,
            _ => null,
        };
        level = parsed.GetValueOrDefault();
        return parsed.HasValue;
    }
}
