using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace LogStream.Storage;

/// <summary>
/// One immutable log record (DESIGN §2). The id identifies it: replicas merge by set union, so two records
/// with the same id in the same (partition, bucket) are the same record and stored once.
/// </summary>
public sealed class LogRecord : IEquatable<LogRecord>
{
    /// <summary>Longest id, in UTF-8 bytes.</summary>
    public const int MaxIdBytes = 128;

    /// <summary>Longest source name, in UTF-8 bytes.</summary>
    public const int MaxSourceBytes = 256;

    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Creates a record; the timestamp is converted to UTC.</summary>
    /// <exception cref="ArgumentException">A field is invalid; the message names the field.</exception>
    public LogRecord(string id, DateTimeOffset timestamp, LogSeverity level, string source, string message,
        IEnumerable<KeyValuePair<string, string>>? attributes = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(message);
        IdByteCount = Utf8Count(id, "id");
        if (IdByteCount is 0 or > MaxIdBytes)
            throw new ArgumentException($"id must be 1 to {MaxIdBytes} UTF-8 bytes (was {IdByteCount}).", nameof(id));
        SourceByteCount = Utf8Count(source, "source");
        if (SourceByteCount is 0 or > MaxSourceBytes)
            throw new ArgumentException($"source must be 1 to {MaxSourceBytes} UTF-8 bytes (was {SourceByteCount}).", nameof(source));
        if (!LogSeverities.IsDefined(level))
            throw new ArgumentOutOfRangeException(nameof(level), level, "level is not a defined log severity.");
        MessageByteCount = Utf8Count(message, "message");

        Id = id;
        Timestamp = timestamp.ToUniversalTime();
        Level = level;
        Source = source;
        Message = message;
        Attributes = attributes switch
        {
            null => RecordAttributes.Empty,
            RecordAttributes ready => ready,
            _ => RecordAttributes.Create(attributes),
        };
    }

    // Trusted path for the decoder: the bytes were validated by CRC and structure, the strings came from UTF-8.
    internal LogRecord(string id, long unixTicks, LogSeverity level, string source, string message, RecordAttributes attributes,
        int idBytes, int sourceBytes, int messageBytes)
    {
        Id = id;
        Timestamp = new DateTimeOffset(unixTicks + DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.Zero);
        Level = level;
        Source = source;
        Message = message;
        Attributes = attributes;
        IdByteCount = idBytes;
        SourceByteCount = sourceBytes;
        MessageByteCount = messageBytes;
    }

    public string Id { get; }

    /// <summary>When the event happened, UTC (offset zero), 100 ns precision.</summary>
    public DateTimeOffset Timestamp { get; }

    public LogSeverity Level { get; }

    /// <summary>The emitting service.</summary>
    public string Source { get; }

    public string Message { get; }

    /// <summary>Flat string attributes, ordered by key (ordinal); empty when there are none.</summary>
    public RecordAttributes Attributes { get; }

    /// <summary>Timestamp as 100 ns ticks since the Unix epoch: the on-disk form.</summary>
    public long UnixTicks => Timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    internal int IdByteCount { get; }

    internal int SourceByteCount { get; }

    internal int MessageByteCount { get; }

    public bool Equals([NotNullWhen(true)] LogRecord? other) =>
        other is not null
        && (ReferenceEquals(this, other)
            || (Id == other.Id && Timestamp.UtcTicks == other.Timestamp.UtcTicks && Level == other.Level
                && Source == other.Source && Message == other.Message && Attributes.Equals(other.Attributes)));

    public override bool Equals(object? obj) => Equals(obj as LogRecord);

    public override int GetHashCode() => HashCode.Combine(Id, Timestamp.UtcTicks);

    public override string ToString() => $"{Timestamp:O} {Level.ToName()} {Source} [{Id}] {Message}";

    private static int Utf8Count(string value, string field)
    {
        try
        {
            return StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException($"{field} is not valid Unicode (it holds an unpaired surrogate).", field);
        }
    }
}

/// <summary>
/// Immutable flat string→string attributes of a record, kept sorted by key (ordinal) so that the encoding,
/// and hence the content hash, does not depend on the order the client sent them in.
/// </summary>
public sealed class RecordAttributes : IReadOnlyDictionary<string, string>, IEquatable<RecordAttributes>
{
    public static readonly RecordAttributes Empty = new([], []);

    private readonly string[] _keys;
    private readonly string[] _values;

    private RecordAttributes(string[] keys, string[] values)
    {
        _keys = keys;
        _values = values;
    }

    /// <exception cref="ArgumentException">A key is empty or repeated, or a key or value is not valid Unicode.</exception>
    public static RecordAttributes Create(IEnumerable<KeyValuePair<string, string>> attributes)
    {
        var pairs = attributes.ToArray();
        if (pairs.Length == 0)
            return Empty;
        Array.Sort(pairs, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var keys = new string[pairs.Length];
        var values = new string[pairs.Length];
        for (var i = 0; i < pairs.Length; i++)
        {
            var (key, value) = (pairs[i].Key, pairs[i].Value);
            if (string.IsNullOrEmpty(key))
                throw new ArgumentException("attributes: a key is empty.", nameof(attributes));
            if (value is null)
                throw new ArgumentException($"attributes['{key}'] is null.", nameof(attributes));
            if (i > 0 && string.Equals(keys[i - 1], key, StringComparison.Ordinal))
                throw new ArgumentException($"attributes: key '{key}' appears twice.", nameof(attributes));
            CheckUnicode(key, "attributes key");
            CheckUnicode(value, $"attributes['{key}']");
            keys[i] = key;
            values[i] = value;
        }
        return new RecordAttributes(keys, values);
    }

    /// <summary>From keys already sorted ordinal and unique (the decoder's path).</summary>
    internal static RecordAttributes FromSorted(string[] keys, string[] values) =>
        keys.Length == 0 ? Empty : new RecordAttributes(keys, values);

    public int Count => _keys.Length;

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

    public IEnumerable<string> Keys => _keys;

    public IEnumerable<string> Values => _values;

    internal string KeyAt(int index) => _keys[index];

    internal string ValueAt(int index) => _values[index];

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        var index = IndexOf(key);
        value = index >= 0 ? _values[index] : null;
        return index >= 0;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        for (var i = 0; i < _keys.Length; i++)
            yield return new KeyValuePair<string, string>(_keys[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(RecordAttributes? other) =>
        other is not null && _keys.AsSpan().SequenceEqual(other._keys) && _values.AsSpan().SequenceEqual(other._values);

    public override bool Equals(object? obj) => Equals(obj as RecordAttributes);

    public override int GetHashCode() => _keys.Length == 0 ? 0 : HashCode.Combine(_keys.Length, _keys[0], _values[0]);

    private int IndexOf(string key) => Array.BinarySearch(_keys, key, StringComparer.Ordinal);

    private static void CheckUnicode(string value, string field)
    {
        try
        {
            LogRecord.StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException($"{field} is not valid Unicode (it holds an unpaired surrogate).", "attributes");
        }
    }
}
