using System.Text;
using LogStream.Node.Api;
using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Node.Tests.Api;

/// <summary>
/// The parser's fast path (records encoded straight from the body) must decide exactly as the general path does:
/// same records, byte for byte, and the same errors, for well-formed and odd input alike. Random bodies built from
/// the spellings that matter (escapes, aliases, offsets, limits, duplicates, types) are parsed both ways.
/// </summary>
public sealed class RecordBatchParserFastPathTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static readonly ApiOptions Options = new() { MaxBatchRecords = 6, MaxMessageBytes = 40, MaxAttributes = 3, MaxAttributeValueBytes = 12 };

    private readonly RecordBatchParser _fast = new(Options, TimeSpan.FromDays(7), new FakeTimeProvider(Now));

    private readonly RecordBatchParser _general = new(Options, TimeSpan.FromDays(7), new FakeTimeProvider(Now)) { UseFastPath = false };

    private static readonly string[] Ids =
        ["\"r1\"", "\"order-42\"", "\"\"", "\"" + new string('i', 128) + "\"", "\"" + new string('i', 129) + "\"", "\"ünï\"", "\"\\u0041b\"",
         "\"\\ud800\"", "null", "7", "\"a\\\"b\""];

    private static readonly string[] Timestamps =
        ["\"2026-11-26T11:00:00Z\"", "\"2026-11-26t11:00:00.5z\"", "\"2026-11-26 11:00:00.123456789Z\"", "\"2026-11-26T11:00:00.1234567891Z\"",
         "\"2026-11-26T12:30:00+01:00\"", "\"2026-11-26T11:00:00-00:00\"", "\"2026-11-26T05:30:00-05:30\"", "\"2026-11-26T23:59:59+13:59\"", "\"2026-11-27T01:00:00+14:00\"",
         "\"2026-11-26T11:00:00+14:30\"", "\"2026-11-26T11:00:00+1:00\"", "\"2026-02-30T11:00:00Z\"", "\"2024-02-29T11:00:00Z\"",
         "\"2026-11-26T24:00:00Z\"", "\"2026-11-26T11:00:60Z\"", "\"0001-01-01T00:00:00Z\"", "\"2026-11-26T11:00:00\"", "\"2026-11-26T11:00:00.Z\"",
         "\"٢٠٢٦-11-26T11:00:00Z\"", "\"2026-11-01T11:00:00Z\"", "\"2026-12-26T11:00:00Z\"", "\"2026-11-26T11:00:00\\u005A\"", "1764154800",
         "\"2026-11-19T12:00:00Z\"", "\"2026-11-27T12:00:00Z\"", "\"2026-11-27T12:00:00.0000001Z\""];

    private static readonly string[] Levels =
        ["\"INFO\"", "\"info\"", "\"Error\"", "\"WARNING\"", "\"err\"", "\"CRITICAL\"", "\"trace\"", "\"DEBUG\"", "\"FATAL\"", "\" INFO \"", "\"NOTICE\"",
         "\"\"", "4", "\"\\u0049NFO\"", "\"warn\""];

    private static readonly string[] Sources =
        ["\"checkout\"", "\"payments\"", "\"\"", "\"" + new string('s', 256) + "\"", "\"" + new string('s', 257) + "\"", "\"zahlungsdienst-ü\"",
         "\"check\\tout\"", "null"];

    private static readonly string[] Messages =
        ["\"boom\"", "\"\"", "\"line one\\nline two\"", "\"" + new string('m', 40) + "\"", "\"" + new string('m', 41) + "\"", "\"quote \\\" inside\"", "\"a\\\\b\\/c\\td\"", "\"x\\\"" + new string('m', 38) + "\"", "\"\\\"" + new string('m', 39) + "\"",
         "\"ünïcödé 🙂\"", "\"\\ud83d\\ude42\"", "\"\\udc00 lone\"", "42", "{}"];

    private static readonly string[] AttributeSets =
        ["{}", "null", "{\"status\":500,\"region\":\"eu\"}", "{\"b\":true,\"a\":false,\"c\":1.5e3}", "{\"k\":null}", "{\"k\":[1]}", "{\"k\":{}}",
         "{\"k\":\"v\",\"k\":\"w\"}", "{\"\":\"v\"}", "{\"ü\":\"v\",\"u\":\"w\"}", "{\"\\u006b\":\"v\"}", "{\"k\":\"\\u0076\"}",
         "{\"a\":1,\"b\":2,\"c\":3}", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", "{\"k\":\"123456789012\"}", "{\"k\":\"1234567890123\"}",
         "{\"" + new string('k', 128) + "\":1}", "{\"" + new string('k', 129) + "\":1}", "[1]", "\"x\"", "{\"trace_id\":\"abc\",\"duration_ms\":-0.25}",
         "{\"Z\":1,\"a\":2,\"_\":3}"];

    [Fact]
    public void RandomBodiesGiveTheSameRecordsAndErrorsOnBothPaths()
    {
        var random = new Random(20261126);
        for (var round = 0; round < 4000; round++)
        {
            var ndjson = random.Next(4) == 0;
            var records = Enumerable.Range(0, random.Next(1, 8)).Select(_ => RandomRecord(random)).ToList();
            var body = ndjson ? string.Join("\n", records) : "[" + string.Join(",", records) + "]";
            Compare(body, ndjson);
        }
    }

    [Fact]
    public void LoadGeneratorStyleRecordsTakeTheFastPathAndMatch()
    {
        var body = "[" + string.Join(",", Enumerable.Range(0, 5).Select(i =>
            $"{{\"id\":\"run-{i}\",\"timestamp\":\"2026-11-26T11:59:0{i}.12345{i}Z\",\"level\":\"INFO\",\"source\":\"checkout\",\"message\":\"GET /api/orders/{i} 200\"," +
            $"\"attributes\":{{\"region\":\"eu-west-1\",\"status\":200,\"duration_ms\":{i}.5}}}}")) + "]";
        Compare(body, ndjson: false);
    }

    private void Compare(string body, bool ndjson)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        EncodedParsedBatch fast, general;
        try
        {
            general = _general.ParseEncoded(bytes, ndjson);
        }
        catch (InvalidOperationException)
        {
            // The general path throws on some input (invalid UTF-8 transcoding): the fast path must throw alike.
            Assert.Throws<InvalidOperationException>(() => _fast.ParseEncoded(bytes, ndjson));
            return;
        }
        fast = _fast.ParseEncoded(bytes, ndjson);
        using var fastBatch = fast.Batch;
        using var generalBatch = general.Batch;

        Assert.True(general.TooManyRecords == fast.TooManyRecords, body);
        Assert.True(general.Errors.SequenceEqual(fast.Errors), $"{body}\n general: {string.Join("; ", general.Errors)}\n fast: {string.Join("; ", fast.Errors)}");
        Assert.True((generalBatch is null) == (fastBatch is null), body);
        if (generalBatch is null || fastBatch is null)
            return;
        Assert.Equal(generalBatch.Count, fastBatch.Count);
        for (var i = 0; i < generalBatch.Count; i++)
        {
            var expected = generalBatch.Decode(i);
            var actual = fastBatch.Decode(i);
            if (Guid.TryParse(expected.Id, out var guid) && guid.Version == 7 && !body.Contains(expected.Id, StringComparison.Ordinal))
            {
                // No id in the body: each path drew its own UUIDv7; everything else must match.
                Assert.Equal(7, Guid.Parse(actual.Id).Version);
                actual = new LogRecord(expected.Id, actual.Timestamp, actual.Level, actual.Source, actual.Message, actual.Attributes);
                Assert.Equal(expected, actual);
                continue;
            }
            Assert.True(generalBatch.PayloadAt(i).SequenceEqual(fastBatch.PayloadAt(i)), $"record {i} of {body}");
            Assert.Equal(generalBatch.IdAt(i), fastBatch.IdAt(i));
            Assert.Equal(generalBatch.SourceAt(i), fastBatch.SourceAt(i));
        }
    }

    private static string RandomRecord(Random random)
    {
        var fields = new List<string>();
        void Maybe(string name, string[] values, int absentOneIn)
        {
            if (random.Next(absentOneIn) != 0)
                fields.Add($"\"{name}\":{Pick(random, values)}");
        }
        Maybe("id", Ids, 3);
        Maybe("timestamp", Timestamps, 25);
        Maybe("level", Levels, 25);
        Maybe("source", Sources, 25);
        Maybe("message", Messages, 25);
        Maybe("attributes", AttributeSets, 3);
        if (random.Next(30) == 0)
            fields.Add("\"extra\":1");
        if (random.Next(30) == 0 && fields.Count > 0)
            fields.Add(fields[random.Next(fields.Count)]);
        if (random.Next(40) == 0)
            fields.Add("\"\\u0069d\":\"escaped-name\"");
        var shuffled = fields.OrderBy(_ => random.Next()).ToList();
        return random.Next(60) == 0 ? Pick(random, ["42", "[]", "\"x\"", "{", "{\"level\":}"]) : "{" + string.Join(",", shuffled) + "}";
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];
}
