using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LogStream.Storage;

namespace LogStream.Node.Api;

/// <summary>One problem with one record of a batch: which record (0-based), which field, and why.</summary>
public sealed record RecordError(int Index, string Field, string Message);

/// <summary>A parsed batch: every record, or every problem found (then nothing may be written).</summary>
public sealed record ParsedBatch(IReadOnlyList<LogRecord> Records, IReadOnlyList<RecordError> Errors, bool TooManyRecords)
{
    public bool Valid => Errors.Count == 0 && !TooManyRecords;
}

/// <summary>
/// A parsed batch, its records encoded (the write path's form): <see cref="Batch"/> holds every record when
/// <see cref="Valid"/>, else it is null and <see cref="Errors"/> says why. The caller disposes the batch.
/// </summary>
public sealed record EncodedParsedBatch(EncodedBatch? Batch, IReadOnlyList<RecordError> Errors, bool TooManyRecords)
{
    public bool Valid => Batch is not null;
}

/// <summary>
/// Reads a batch of log records from a JSON array or NDJSON body and validates every record before anything is
/// written. Fields: <c>id</c> (optional string; the coordinator assigns a UUIDv7 when absent), <c>timestamp</c>
/// (RFC 3339 with an offset), <c>level</c> (TRACE…FATAL, aliases WARNING, ERR, CRITICAL), <c>source</c>,
/// <c>message</c>, and optional flat <c>attributes</c> (string, number or boolean values, stored as text).
/// Unknown fields are refused, so that a misspelt field is not silently lost.
/// </summary>
public sealed partial class RecordBatchParser(ApiOptions options, TimeSpan retention, TimeProvider timeProvider)
{
    /// <summary>Errors reported at most; the rest are counted in the last one.</summary>
    public const int MaxReportedErrors = 50;

    private static readonly string[] KnownFields = ["id", "timestamp", "level", "source", "message", "attributes"];

    /// <summary>False only in tests: every record takes the general path (the fast path must give the same results).</summary>
    internal bool UseFastPath { get; init; } = true;

    public ParsedBatch Parse(ReadOnlySpan<byte> body, bool ndjson)
    {
        var parsed = ParseEncoded(body, ndjson);
        using var batch = parsed.Batch;
        var records = batch is null ? [] : Enumerable.Range(0, batch.Count).Select(batch.Decode).ToList();
        return new ParsedBatch(records, parsed.Errors, parsed.TooManyRecords);
    }

    /// <summary>Parses and validates the whole body into encoded records (see <see cref="EncodedParsedBatch"/>).</summary>
    public EncodedParsedBatch ParseEncoded(ReadOnlySpan<byte> body, bool ndjson)
    {
        var now = timeProvider.GetUtcNow();
        var context = new BatchContext(options, now - retention, now + options.MaxFutureSkew, now, body.Length, UseFastPath);
        try
        {
            if (ndjson)
                ParseNdjson(body, context);
            else
                ParseArray(body, context);
            return context.Result();
        }
        catch
        {
            context.Batch.Dispose();
            throw;
        }
    }

    private static void ParseArray(ReadOnlySpan<byte> body, BatchContext context)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var index = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                context.Error(-1, "$", "the body must be a JSON array of records (or NDJSON with Content-Type application/x-ndjson)");
                return;
            }
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (!context.Room(index))
                {
                    reader.Skip();
                    index++;
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    context.Error(index, "$", $"record must be a JSON object, not {Describe(reader.TokenType)}");
                    reader.Skip();
                }
                else
                {
                    ReadRecordFastOrGeneral(ref reader, body, index, context);
                }
                index++;
            }
            if (reader.TokenType != JsonTokenType.EndArray)
                context.Error(index, "$", "the body ends before the JSON array is closed (truncated?)");
            else if (reader.Read())
                context.Error(-1, "$", $"unexpected content after the JSON array at byte {reader.TokenStartIndex}");
        }
        catch (JsonException ex)
        {
            context.Error(index, "$", reader.BytesConsumed >= body.Length || ex.Message.Contains("depth", StringComparison.Ordinal)
                ? "the body ends before the JSON array is closed (truncated?)"
                : $"malformed JSON at byte {reader.BytesConsumed}: {CleanJsonMessage(ex.Message)}");
        }
    }

    private static void ParseNdjson(ReadOnlySpan<byte> body, BatchContext context)
    {
        var index = 0;
        var line = 0;
        while (body.Length > 0)
        {
            var end = body.IndexOf((byte)'\n');
            var text = end < 0 ? body : body[..end];
            body = end < 0 ? [] : body[(end + 1)..];
            line++;
            if (text.Trim((byte)'\r').Trim((byte)' ').IsEmpty)
                continue;
            if (!context.Room(index))
            {
                index++;
                continue;
            }
            var reader = new Utf8JsonReader(text);
            try
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    context.Error(index, "$", $"line {line} must hold one JSON object");
                }
                else
                {
                    ReadRecordFastOrGeneral(ref reader, text, index, context);
                    if (reader.Read())
                        context.Error(index, "$", $"line {line} holds more than one JSON value");
                }
            }
            catch (JsonException ex)
            {
                context.Error(index, "$", $"malformed JSON on line {line}: {CleanJsonMessage(ex.Message)}");
            }
            index++;
        }
    }

    /// <summary>Reads one record object; the reader ends on its EndObject.</summary>
    private static void ReadRecord(ref Utf8JsonReader reader, int index, BatchContext context)
    {
        string? id = null, timestampText = null, levelText = null, source = null, message = null;
        List<KeyValuePair<string, string>>? attributes = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var errors = context.ErrorCount;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = reader.GetString()!;
            reader.Read();
            if (!seen.Add(field))
            {
                context.Error(index, field, "appears twice");
                reader.Skip();
                continue;
            }
            switch (field)
            {
                case "id":
                    id = ReadString(ref reader, index, field, context);
                    break;
                case "timestamp":
                    timestampText = ReadString(ref reader, index, field, context);
                    break;
                case "level":
                    levelText = ReadString(ref reader, index, field, context);
                    break;
                case "source":
                    source = ReadString(ref reader, index, field, context);
                    break;
                case "message":
                    message = ReadString(ref reader, index, field, context);
                    break;
                case "attributes":
                    attributes = ReadAttributes(ref reader, index, context);
                    break;
                default:
                    context.Error(index, field, $"unknown field (known: {string.Join(", ", KnownFields)}; put extra data under attributes)");
                    reader.Skip();
                    break;
            }
        }

        DateTimeOffset timestamp = default;
        LogSeverity level = default;
        if (timestampText is null && !seen.Contains("timestamp"))
            context.Error(index, "timestamp", "is required (RFC 3339, e.g. 2026-11-26T15:04:05.123Z)");
        else if (timestampText is not null && !TryParseTimestamp(timestampText, out timestamp))
            context.Error(index, "timestamp", $"'{Shorten(timestampText)}' is not an RFC 3339 time with an offset (e.g. 2026-11-26T15:04:05.123Z)");
        else if (timestampText is not null && timestamp < context.OldestAccepted)
            context.Error(index, "timestamp", $"{timestampText} is older than the retention (records before {context.OldestAccepted:yyyy-MM-ddTHH:mm:ssZ} are not kept)");
        else if (timestampText is not null && timestamp > context.NewestAccepted)
            context.Error(index, "timestamp", $"{timestampText} is more than {context.Options.MaxFutureSkew} in the future (client clock ahead?)");

        if (levelText is null && !seen.Contains("level"))
            context.Error(index, "level", "is required (TRACE, DEBUG, INFO, WARN, ERROR or FATAL)");
        else if (levelText is not null && !LogSeverities.TryParse(levelText, out level))
            context.Error(index, "level", $"'{Shorten(levelText)}' is not a level: expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL (aliases WARNING, ERR, CRITICAL)");

        if (source is null && !seen.Contains("source"))
            context.Error(index, "source", "is required (the emitting service)");
        else if (source is not null && source.Length == 0)
            context.Error(index, "source", "must not be empty");
        else if (source is not null && Encoding.UTF8.GetByteCount(source) > LogRecord.MaxSourceBytes)
            context.Error(index, "source", $"is longer than {LogRecord.MaxSourceBytes} UTF-8 bytes");

        if (message is null && !seen.Contains("message"))
            context.Error(index, "message", "is required");
        else if (message is not null && Encoding.UTF8.GetByteCount(message) > context.Options.MaxMessageBytes)
            context.Error(index, "message", $"is longer than {context.Options.MaxMessageBytes} UTF-8 bytes (LogStream:Api:MaxMessageBytes)");

        if (id is not null && (id.Length == 0 || Encoding.UTF8.GetByteCount(id) > LogRecord.MaxIdBytes))
            context.Error(index, "id", $"must be 1 to {LogRecord.MaxIdBytes} UTF-8 bytes");

        if (context.ErrorCount != errors || timestampText is null || levelText is null || source is null || message is null)
            return;

        try
        {
            context.Add(new LogRecord(id ?? context.NewId(), timestamp, level, source, message, attributes));
        }
        catch (ArgumentException ex)
        {
            context.Error(index, ex.ParamName ?? "$", ex.Message.Split(" (Parameter", 2)[0]);
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader, int index, string field, BatchContext context)
    {
        if (reader.TokenType == JsonTokenType.String)
            return reader.GetString();
        context.Error(index, field, $"must be a string, not {Describe(reader.TokenType)}");
        reader.Skip();
        return null;
    }

    private static List<KeyValuePair<string, string>>? ReadAttributes(ref Utf8JsonReader reader, int index, BatchContext context)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            context.Error(index, "attributes", $"must be a flat JSON object, not {Describe(reader.TokenType)}");
            reader.Skip();
            return null;
        }

        var attributes = new List<KeyValuePair<string, string>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            var field = $"attributes.{key}";
            reader.Read();
            string? value = reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString(),
                JsonTokenType.Number => Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan),
                JsonTokenType.True => "true",
                JsonTokenType.False => "false",
                _ => null,
            };
            if (value is null)
            {
                context.Error(index, field, $"must be a string, number or boolean, not {Describe(reader.TokenType)} (attributes are flat)");
                reader.Skip();
                continue;
            }
            if (key.Length == 0)
                context.Error(index, "attributes", "a key is empty");
            else if (!keys.Add(key))
                context.Error(index, field, "appears twice");
            else if (Encoding.UTF8.GetByteCount(key) > LogRecord.MaxIdBytes)
                context.Error(index, field, $"key is longer than {LogRecord.MaxIdBytes} UTF-8 bytes");
            else if (Encoding.UTF8.GetByteCount(value) > context.Options.MaxAttributeValueBytes)
                context.Error(index, field, $"value is longer than {context.Options.MaxAttributeValueBytes} UTF-8 bytes (LogStream:Api:MaxAttributeValueBytes)");
            else
                attributes.Add(new(key, value));
        }
        if (attributes.Count > context.Options.MaxAttributes)
            context.Error(index, "attributes", $"has {attributes.Count} entries, more than {context.Options.MaxAttributes} (LogStream:Api:MaxAttributes)");
        return attributes;
    }

    /// <summary>RFC 3339: date, 'T' (or space), time with optional fraction (up to 9 digits), and Z or an offset.</summary>
    internal static bool TryParseTimestamp(string text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        var match = Rfc3339().Match(text);
        if (!match.Success)
            return false;
        // .NET parses at most 7 fractional digits (100 ns); nanoseconds beyond are dropped, not rounded.
        var fraction = match.Groups["fraction"].Value;
        var normalized = match.Groups["datetime"].Value.Replace(' ', 'T').Replace('t', 'T')
                         + (fraction.Length > 0 ? "." + fraction[..Math.Min(7, fraction.Length)] : "")
                         + match.Groups["offset"].Value.ToUpperInvariant();
        return DateTimeOffset.TryParse(normalized, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out timestamp);
    }

    [GeneratedRegex(@"^(?<datetime>\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(?<fraction>\d{1,9}))?(?<offset>[Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..61] + "...";

    private static string CleanJsonMessage(string message) => message.Split(" LineNumber:", 2)[0];

    private sealed class BatchContext(ApiOptions options, DateTimeOffset oldestAccepted, DateTimeOffset newestAccepted, DateTimeOffset now,
        int bodyBytes, bool fastPath)
    {
        private readonly List<RecordError> _errors = [];
        private int _suppressed;
        private bool _tooMany;

        public ApiOptions Options => options;

        /// <summary>The records so far, encoded (a record's encoding is rarely longer than its JSON: the buffer seldom grows).</summary>
        public EncodedBatch Batch { get; } = new(bodyBytes + (bodyBytes / 4) + 64, Math.Max(1, bodyBytes / 256));

        public bool FastPath => fastPath;

        public long OldestAcceptedTicks { get; } = oldestAccepted.UtcTicks;

        public long NewestAcceptedTicks { get; } = newestAccepted.UtcTicks;

        /// <summary>The fast path's unescaped message.</summary>
        public byte[] Scratch { get; set; } = new byte[256];

        /// <summary>Attribute slots of the record being read by the fast path.</summary>
        public AttributeSlot[] Attributes { get; set; } = new AttributeSlot[8];

        public DateTimeOffset OldestAccepted => oldestAccepted;

        public DateTimeOffset NewestAccepted => newestAccepted;

        public int ErrorCount => _errors.Count + _suppressed;

        /// <summary>False once the batch holds more records than allowed: the rest is only counted.</summary>
        public bool Room(int index)
        {
            if (index < options.MaxBatchRecords)
                return true;
            _tooMany = true;
            return false;
        }

        public void Add(LogRecord record)
        {
            if (_errors.Count == 0 && _suppressed == 0)
                Batch.Add(record);
        }

        public void Error(int index, string field, string message)
        {
            if (_errors.Count < MaxReportedErrors)
                _errors.Add(new RecordError(index, field, message));
            else
                _suppressed++;
        }

        public string NewId() => Guid.CreateVersion7(now).ToString();

        public EncodedParsedBatch Result()
        {
            if (_suppressed > 0)
                _errors.Add(new RecordError(-1, "$", $"{_suppressed} more problems not listed"));
            if (_errors.Count == 0 && !_tooMany)
                return new EncodedParsedBatch(Batch, _errors, false);
            Batch.Dispose();
            return new EncodedParsedBatch(null, _errors, _tooMany);
        }
    }
}
