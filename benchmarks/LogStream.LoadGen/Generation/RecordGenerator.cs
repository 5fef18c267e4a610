using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LogStream.LoadGen.Options;

namespace LogStream.LoadGen.Generation;

/// <summary>What the generator needs; everything else about a record follows from (seed, sequence).</summary>
public sealed record GeneratorSettings(
    ulong Seed,
    string RunId,
    DateTimeOffset StartTime,
    TimeSpan TimeStep,
    int Sources,
    double ErrorRate,
    int MessageBytes,
    PayloadFormat Format,
    bool StringAttributes);

/// <summary>An ERROR record of a batch: what <c>--verify</c> expects to read back.</summary>
public readonly record struct ErrorRecord(string Id, int Source);

/// <summary>What a sent batch leaves behind for --verify once its body is gone: its records' range and ERROR ids.</summary>
public readonly record struct SentBatch(long FirstSequence, int Count, ErrorRecord[] Errors);

/// <summary>One request body, serialized before the timed phase.</summary>
public sealed class GeneratedBatch(long firstSequence, int count, byte[] payload, ErrorRecord[] errors)
{
    public long FirstSequence { get; } = firstSequence;

    public int Count { get; } = count;

    /// <summary>The UTF-8 body, ready for a <c>ByteArrayContent</c>.</summary>
    public byte[] Payload { get; } = payload;

    /// <summary>The records of level ERROR (exactly; FATAL is not among them).</summary>
    public ErrorRecord[] Errors { get; } = errors;

    public SentBatch ToSent() => new(FirstSequence, Count, Errors);
}

/// <summary>
/// Per-thread reusable state of the generator: the output buffer, the JSON writer and a char buffer for messages.
/// Also counts what it generated, so that the totals cost no synchronization.
/// </summary>
public sealed class GeneratorScratch
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Messages hold quotes, '<', '&', '+' and non-ASCII names: write them as they are (valid JSON, fewer bytes).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = true,
    };

    internal readonly ArrayBufferWriter<byte> Buffer = new(64 * 1024);
    internal readonly Utf8JsonWriter Writer;
    internal char[] Chars;
    internal readonly List<ErrorRecord> Errors = [];

    // The "yyyy-MM-ddTHH:mm:ss." of the last second formatted: consecutive records nearly always share it.
    private readonly char[] _secondPrefix = new char[20];
    private long _prefixSecond = -1;

    public GeneratorScratch(int messageBytes)
    {
        Writer = new Utf8JsonWriter(Buffer, WriterOptions);
        Chars = new char[Math.Max(1024, (messageBytes * 2) + 512)];
    }

    /// <summary>Records generated through this scratch, by level (index = <see cref="Severity"/>).</summary>
    public long[] LevelCounts { get; } = new long[Severities.Names.Length];

    public long Records { get; internal set; }

    public long Bytes { get; internal set; }

    public long Batches { get; internal set; }

    /// <summary>RFC 3339 UTC with microseconds (<c>2026-11-26T15:00:00.123456Z</c>), 27 chars, without a format string per call.</summary>
    internal void FormatTimestamp(long utcTicks, Span<char> destination)
    {
        var second = utcTicks / TimeSpan.TicksPerSecond;
        if (second != _prefixSecond)
        {
            new DateTime(second * TimeSpan.TicksPerSecond, DateTimeKind.Utc)
                .TryFormat(_secondPrefix, out _, "yyyy-MM-dd'T'HH:mm:ss'.'", CultureInfo.InvariantCulture);
            _prefixSecond = second;
        }

        _secondPrefix.CopyTo(destination);
        var micros = (int)(utcTicks % TimeSpan.TicksPerSecond / 10);
        for (var i = 25; i >= 20; i--)
        {
            destination[i] = (char)('0' + (micros % 10));
            micros /= 10;
        }

        destination[26] = 'Z';
    }
}

/// <summary>Property names, escaped once instead of on every write.</summary>
internal static class Names
{
    public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    public static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    public static readonly JsonEncodedText Level = JsonEncodedText.Encode("level");
    public static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
    public static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    public static readonly JsonEncodedText Attributes = JsonEncodedText.Encode("attributes");
    public static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
    public static readonly JsonEncodedText DurationMs = JsonEncodedText.Encode("duration_ms");
    public static readonly JsonEncodedText Region = JsonEncodedText.Encode("region");
    public static readonly JsonEncodedText TraceId = JsonEncodedText.Encode("trace_id");
}

/// <summary>
/// Realistic log records (DESIGN §2) as request bodies of <c>POST /api/logs</c>. A record's id is
/// <c>{runId}-{sequence}</c>; its timestamp is <c>start + sequence × step</c> (unique and increasing, which keeps
/// time-paged verification exact); everything else is drawn from a per-record SplitMix64 stream.
/// </summary>
public sealed class RecordGenerator
{
    // Share of TRACE, DEBUG, INFO (cumulative) among the records that are not ERROR/FATAL; the rest is WARN.
    private const double TraceShare = 0.02, DebugShare = 0.24, InfoShare = 0.88;

    // FATAL is this fraction of the error rate, ERROR the rest.
    private const double FatalShare = 0.05;

    private readonly string[] _sources;
    private readonly byte[][] _sourcesUtf8;
    private readonly double[] _sourceCumulative;
    private readonly long _startTicks;
    private readonly long _stepTicks;

    public RecordGenerator(GeneratorSettings settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Sources, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MessageBytes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.ErrorRate);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(settings.ErrorRate, 1.0);
        Settings = settings;
        _sources = Vocabulary.SourceNames(settings.Sources);
        _sourcesUtf8 = _sources.Select(Encoding.UTF8.GetBytes).ToArray();

        // Mildly skewed like real fleets (a few chatty services): weight 1/sqrt(rank).
        _sourceCumulative = new double[settings.Sources];
        var total = 0.0;
        for (var i = 0; i < settings.Sources; i++)
            _sourceCumulative[i] = total += 1 / Math.Sqrt(i + 1);
        for (var i = 0; i < settings.Sources; i++)
            _sourceCumulative[i] /= total;

        _startTicks = settings.StartTime.UtcTicks;
        _stepTicks = settings.TimeStep.Ticks;
    }

    public GeneratorSettings Settings { get; }

    public IReadOnlyList<string> Sources => _sources;

    public string IdOf(long sequence) => string.Create(CultureInfo.InvariantCulture, $"{Settings.RunId}-{sequence}");

    public DateTimeOffset TimestampOf(long sequence) => new(_startTicks + (sequence * _stepTicks), TimeSpan.Zero);

    /// <summary>Serializes records <paramref name="firstSequence"/> .. +<paramref name="count"/> into one request body.</summary>
    public GeneratedBatch Generate(long firstSequence, int count, GeneratorScratch scratch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var buffer = scratch.Buffer;
        var writer = scratch.Writer;
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        scratch.Errors.Clear();

        var json = Settings.Format == PayloadFormat.Json;
        if (json)
            writer.WriteStartArray();
        for (var i = 0; i < count; i++)
        {
            WriteRecord(writer, firstSequence + i, scratch);
            if (!json)
            {
                // NDJSON: one record per line. Reset keeps the writer from adding a list separator between roots.
                writer.Flush();
                buffer.Write("\n"u8);
                writer.Reset(buffer);
            }
        }

        if (json)
            writer.WriteEndArray();
        writer.Flush();

        var payload = buffer.WrittenSpan.ToArray();
        scratch.Records += count;
        scratch.Bytes += payload.Length;
        scratch.Batches++;
        return new GeneratedBatch(firstSequence, count, payload, scratch.Errors.Count == 0 ? [] : scratch.Errors.ToArray());
    }

    private void WriteRecord(Utf8JsonWriter writer, long sequence, GeneratorScratch scratch)
    {
        var random = SplitMix64.ForRecord(Settings.Seed, sequence);
        var level = DrawLevel(ref random);
        var source = DrawSource(ref random);
        scratch.LevelCounts[(int)level]++;

        Span<char> id = stackalloc char[96];
        id.TryWrite(CultureInfo.InvariantCulture, $"{Settings.RunId}-{sequence}", out var idLength);
        id = id[..idLength];
        if (level == Severity.Error)
            scratch.Errors.Add(new ErrorRecord(id.ToString(), source));

        Span<char> timestamp = stackalloc char[27];
        scratch.FormatTimestamp(_startTicks + (sequence * _stepTicks), timestamp);

        var http = level >= Severity.Warn || random.NextDouble() < 0.55;
        var traced = level >= Severity.Error || random.NextDouble() < 0.5;
        var status = DrawStatus(ref random, level);
        var durationMs = DrawDurationMs(ref random, level);
        var region = random.Next(Vocabulary.Regions.Length);
        var traceHigh = random.Next();
        var traceLow = random.Next();
        var message = WriteMessage(scratch, ref random, level, _sources[source], status, durationMs);

        writer.WriteStartObject();
        writer.WriteString(Names.Id, id);
        writer.WriteString(Names.Timestamp, timestamp);
        writer.WriteString(Names.Level, Severities.Utf8Names[(int)level]);
        writer.WriteString(Names.Source, _sourcesUtf8[source]);
        writer.WriteString(Names.Message, message);
        writer.WriteStartObject(Names.Attributes);
        if (http)
        {
            if (Settings.StringAttributes)
            {
                Span<char> number = stackalloc char[20];
                status.TryFormat(number, out var n, default, CultureInfo.InvariantCulture);
                writer.WriteString(Names.Status, number[..n]);
                durationMs.TryFormat(number, out n, default, CultureInfo.InvariantCulture);
                writer.WriteString(Names.DurationMs, number[..n]);
            }
            else
            {
                writer.WriteNumber(Names.Status, status);
                writer.WriteNumber(Names.DurationMs, durationMs);
            }
        }

        writer.WriteString(Names.Region, Vocabulary.RegionsUtf8[region]);
        if (traced)
        {
            Span<char> trace = stackalloc char[32];
            WriteHex(traceHigh, trace[..16]);
            WriteHex(traceLow, trace[16..]);
            writer.WriteString(Names.TraceId, trace);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Lower-case hex of the low <c>destination.Length</c> nibbles (format strings are slow on this path).</summary>
    internal static void WriteHex(ulong value, Span<char> destination)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = "0123456789abcdef"[(int)(value & 0xF)];
            value >>= 4;
        }
    }

    private Severity DrawLevel(ref SplitMix64 random)
    {
        var u = random.NextDouble();
        var errorRate = Settings.ErrorRate;
        if (u < errorRate)
            return u < errorRate * FatalShare ? Severity.Fatal : Severity.Error;
        var r = (u - errorRate) / (1 - errorRate);
        return r switch
        {
            < TraceShare => Severity.Trace,
            < DebugShare => Severity.Debug,
            < InfoShare => Severity.Info,
            _ => Severity.Warn,
        };
    }

    private int DrawSource(ref SplitMix64 random)
    {
        var index = Array.BinarySearch(_sourceCumulative, random.NextDouble());
        return Math.Min(index < 0 ? ~index : index, _sourceCumulative.Length - 1);
    }

    private static int DrawStatus(ref SplitMix64 random, Severity level)
    {
        var r = random.Next(100);
        return level switch
        {
            Severity.Fatal => 500,
            Severity.Error => r < 40 ? 500 : r < 60 ? 502 : r < 85 ? 503 : 504,
            Severity.Warn => r < 40 ? 200 : r < 52 ? 400 : r < 64 ? 401 : r < 76 ? 404 : r < 88 ? 409 : 429,
            _ => r < 70 ? 200 : r < 80 ? 201 : r < 90 ? 204 : 304,
        };
    }

    private static long DrawDurationMs(ref SplitMix64 random, Severity level)
    {
        // Exponential tails: most requests are quick, a few are very slow.
        var exponential = -Math.Log(1 - random.NextDouble());
        return level switch
        {
            Severity.Warn => 500 + (long)(exponential * 800),
            Severity.Error or Severity.Fatal => random.Next(2) == 0 ? 1000 + random.Next(29_000) : 1 + (long)(exponential * 200),
            _ => 1 + (long)(exponential * 35),
        };
    }

    /// <summary>A template filled with drawn values, then padded with key=value context or cut to a drawn length.</summary>
    private ReadOnlySpan<char> WriteMessage(GeneratorScratch scratch, ref SplitMix64 random, Severity level, string source, int status, long ms)
    {
        var chars = scratch.Chars;
        var length = WriteTemplate(chars, ref random, level, source, status, ms);
        var target = Math.Max(1, (int)(Settings.MessageBytes * (0.5 + random.NextDouble())));
        while (length < target)
        {
            var token = Vocabulary.Filler[random.Next(Vocabulary.Filler.Length)];
            chars[length++] = ' ';
            var take = Math.Min(token.Length, chars.Length - length);
            token.AsSpan(0, take).CopyTo(chars.AsSpan(length));
            length += take;
        }

        length = Math.Min(length, target);
        if (char.IsHighSurrogate(chars[length - 1]))
            length--;
        while (length > 1 && chars[length - 1] == ' ')
            length--;
        return chars.AsSpan(0, length);
    }

    private static int WriteTemplate(Span<char> d, ref SplitMix64 r, Severity level, string source, int status, long ms)
    {
        var user = Vocabulary.Users[r.Next(Vocabulary.Users.Length)];
        var path = Vocabulary.Paths[r.Next(Vocabulary.Paths.Length)];
        var method = Vocabulary.Methods[r.Next(Vocabulary.Methods.Length)];
        var dependency = Vocabulary.Dependencies[r.Next(Vocabulary.Dependencies.Length)];
        var type = Vocabulary.Classes[r.Next(Vocabulary.Classes.Length)];
        var member = Vocabulary.Members[r.Next(Vocabulary.Members.Length)];
        var order = r.Next(10_000_000);
        var n = r.Next(1000);
        var pick = r.Next(1 << 20);
        Span<char> hex = stackalloc char[16];
        WriteHex(r.Next(), hex);
        var ic = CultureInfo.InvariantCulture;
        int w;
        switch (level)
        {
            case Severity.Trace:
                if (pick % 2 == 0)
                    d.TryWrite(ic, $"enter {type}.{member}(args={n % 8})", out w);
                else
                    d.TryWrite(ic, $"exit {type}.{member} after {n} us", out w);
                break;
            case Severity.Debug:
                switch (pick % 3)
                {
                    case 0: d.TryWrite(ic, $"db query on {Vocabulary.Tables[n % Vocabulary.Tables.Length]} returned {n % 200} rows in {ms} ms", out w); break;
                    case 1: d.TryWrite(ic, $"span {hex} started for {method} {path}", out w); break;
                    default: d.TryWrite(ic, $"feature flag {Vocabulary.Flags[n % Vocabulary.Flags.Length]} is {(n % 2 == 0 ? "on" : "off")} for user {user}", out w); break;
                }

                break;
            case Severity.Info:
                switch (pick % 6)
                {
                    case 0: d.TryWrite(ic, $"{method} {path} completed {status} in {ms} ms", out w); break;
                    case 1: d.TryWrite(ic, $"order {order} placed by user {user}, {n % 9 + 1} items, total {n}.{order / 10 % 10}{order % 10} EUR", out w); break;
                    case 2: d.TryWrite(ic, $"user {user} signed in from 10.{n % 256}.{order % 256}.{(order >> 8) % 256}", out w); break;
                    case 3: d.TryWrite(ic, $"search q=\"{Vocabulary.SearchTerms[n % Vocabulary.SearchTerms.Length]}\" returned {n} hits in {ms} ms", out w); break;
                    case 4: d.TryWrite(ic, $"cache {(n % 3 == 0 ? "miss" : "hit")} for key {source}:{hex[..8]}", out w); break;
                    default: d.TryWrite(ic, $"shipment {order} handed to {Vocabulary.Carriers[n % Vocabulary.Carriers.Length]} for user {user}", out w); break;
                }

                break;
            case Severity.Warn:
                switch (pick % 4)
                {
                    case 0: d.TryWrite(ic, $"slow request {method} {path} took {ms} ms (threshold 500 ms)", out w); break;
                    case 1: d.TryWrite(ic, $"retrying call to {dependency} after {ms} ms, attempt {n % 3 + 1} of 3", out w); break;
                    case 2: d.TryWrite(ic, $"inventory low for sku SKU-{100_000 + (order % 900_000)}: {n % 10} left", out w); break;
                    default: d.TryWrite(ic, $"rate limit near for tenant {Vocabulary.Tenants[n % Vocabulary.Tenants.Length]}: {n}/1000 requests", out w); break;
                }

                break;
            case Severity.Error:
                switch (pick % 4)
                {
                    case 0: d.TryWrite(ic, $"payment pay_{hex[4..]} declined by {Vocabulary.Providers[n % Vocabulary.Providers.Length]}: {Vocabulary.DeclineReasons[n % Vocabulary.DeclineReasons.Length]}", out w); break;
                    case 1: d.TryWrite(ic, $"upstream {dependency} returned {status} for {method} {path} after {ms} ms", out w); break;
                    case 2: d.TryWrite(ic, $"timeout after {ms} ms calling {dependency} for user {user}", out w); break;
                    default: d.TryWrite(ic, $"unhandled {Vocabulary.Exceptions[n % Vocabulary.Exceptions.Length]} in {type}.{member} for order {order}", out w); break;
                }

                break;
            default:
                if (pick % 2 == 0)
                    d.TryWrite(ic, $"out of memory in worker {n % 16}; process restarting", out w);
                else
                    d.TryWrite(ic, $"database connection pool exhausted ({n % 64 + 1}/{n % 64 + 1}); shutting down", out w);
                break;
        }

        return w;
    }
}
