using System.Text;
using System.Text.Json;
using LogStream.LoadGen.Generation;
using LogStream.LoadGen.Options;

namespace LogStream.LoadGen.Tests;

public sealed class GeneratorTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 15, 0, 0, TimeSpan.Zero);

    internal static GeneratorSettings Settings(ulong seed = 42, double errorRate = 0.03, int messageBytes = LoadGenOptions.DefaultMessageBytes,
        PayloadFormat format = PayloadFormat.Json, int sources = 8, string runId = "test", bool stringAttributes = false) =>
        new(seed, runId, Start, TimeSpan.FromMicroseconds(10), sources, errorRate, messageBytes, format, stringAttributes);

    /// <summary>Every record of the payloads, parsed back from the bytes that would go on the wire.</summary>
    internal static List<JsonElement> Parse(IEnumerable<GeneratedBatch> batches, PayloadFormat format = PayloadFormat.Json)
    {
        var records = new List<JsonElement>();
        foreach (var batch in batches)
        {
            if (format == PayloadFormat.Json)
            {
                records.AddRange(JsonDocument.Parse(batch.Payload).RootElement.EnumerateArray().Select(e => e.Clone()));
            }
            else
            {
                foreach (var line in Encoding.UTF8.GetString(batch.Payload).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    records.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }

        return records;
    }

    private static GeneratedBatch[] Generate(GeneratorSettings settings, long records, int batch, int threads = 2, long first = 0) =>
        PregeneratedBatches.Generate(new RecordGenerator(settings), first, records, batch, threads, new GeneratorStats()).Batches.ToArray();

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.03)]
    [InlineData(0.05)]
    public void ErrorAndFatalRecordsMakeUpTheErrorRateWithinStatisticalBounds(double errorRate)
    {
        const int n = 100_000;
        var records = Parse(Generate(Settings(errorRate: errorRate), n, 1000));
        var errors = records.Count(r => r.GetProperty("level").GetString() is "ERROR" or "FATAL");
        var fatal = records.Count(r => r.GetProperty("level").GetString() == "FATAL");

        // Five standard deviations of a binomial count: fails by chance less than once in a million runs.
        var sigma = Math.Sqrt(n * errorRate * (1 - errorRate));
        Assert.InRange(errors, (n * errorRate) - (5 * sigma), (n * errorRate) + (5 * sigma));
        Assert.InRange(fatal, 1, errors / 8);
    }

    [Fact]
    public void LevelsAreMostlyInfoAndDebugWithSomeWarnAndEveryLevelAppears()
    {
        var records = Parse(Generate(Settings(), 50_000, 500));
        var byLevel = records.GroupBy(r => r.GetProperty("level").GetString()!).ToDictionary(g => g.Key, g => g.Count() / (double)records.Count);

        Assert.Equal(["DEBUG", "ERROR", "FATAL", "INFO", "TRACE", "WARN"], byLevel.Keys.Order(StringComparer.Ordinal));
        Assert.InRange(byLevel["INFO"] + byLevel["DEBUG"], 0.75, 0.90);
        Assert.InRange(byLevel["WARN"], 0.08, 0.16);
    }

    [Fact]
    public void DefaultRecordsAreAboutTwoHundredFiftyBytesOfJson()
    {
        var batches = Generate(Settings(), 20_000, 1);
        var mean = batches.Average(b => b.Payload.Length - 2.0); // minus the array's brackets

        Assert.InRange(mean, 235, 265);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(200)]
    [InlineData(2000)]
    public void MessagesAverageTheRequestedSize(int messageBytes)
    {
        var records = Parse(Generate(Settings(messageBytes: messageBytes), 5_000, 100));
        var mean = records.Average(r => Encoding.UTF8.GetByteCount(r.GetProperty("message").GetString()!));

        Assert.InRange(mean, messageBytes * 0.93, messageBytes * 1.07);
    }

    [Fact]
    public void TheSameSeedRunIdAndStartTimeGiveTheSameBytesWhateverTheThreadCount()
    {
        var one = Generate(Settings(seed: 7), 10_000, 100, threads: 1);
        var four = Generate(Settings(seed: 7), 10_000, 100, threads: 4);

        Assert.Equal(one.Length, four.Length);
        for (var i = 0; i < one.Length; i++)
            Assert.Equal(one[i].Payload, four[i].Payload);
    }

    [Fact]
    public void ARecordDependsOnItsSequenceNotOnTheBatchSize()
    {
        var small = Parse(Generate(Settings(seed: 7), 1_000, 1));
        var large = Parse(Generate(Settings(seed: 7), 1_000, 1000));

        Assert.Equal(small.Select(r => r.GetRawText()), large.Select(r => r.GetRawText()));
    }

    [Fact]
    public void DifferentSeedsGiveDifferentRecords()
    {
        var a = Parse(Generate(Settings(seed: 1), 1_000, 100));
        var b = Parse(Generate(Settings(seed: 2), 1_000, 100));

        var sameMessages = a.Zip(b).Count(p => p.First.GetProperty("message").GetString() == p.Second.GetProperty("message").GetString());
        Assert.True(sameMessages < 50, $"{sameMessages} of 1000 messages were equal across seeds");
    }

    [Fact]
    public void EveryIdIsUniqueAndIsTheRunIdFollowedByTheSequence()
    {
        var records = Parse(Generate(Settings(runId: "r1"), 30_000, 700, first: 5));
        var ids = records.Select(r => r.GetProperty("id").GetString()!).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Enumerable.Range(5, 30_000).Select(i => $"r1-{i}"), ids);
    }

    [Fact]
    public void TimestampsAreRfc3339UtcWithMicrosecondsAndStrictlyIncreasing()
    {
        var generator = new RecordGenerator(Settings());
        var records = Parse(Generate(Settings(), 3_000, 1000));
        var stamps = records.Select(r => r.GetProperty("timestamp").GetString()!).ToList();

        Assert.All(stamps, s => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", s));
        Assert.Equal("2026-11-26T15:00:00.000000Z", stamps[0]);
        Assert.Equal("2026-11-26T15:00:00.029990Z", stamps[^1]);
        Assert.Equal(generator.TimestampOf(2999), DateTimeOffset.Parse(stamps[^1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(stamps.Zip(stamps.Skip(1)).All(p => string.CompareOrdinal(p.First, p.Second) < 0));
    }

    [Fact]
    public void TimestampsCrossSecondsAndDaysCorrectly()
    {
        var settings = Settings() with { StartTime = new DateTimeOffset(2026, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_900) };
        var records = Parse(Generate(settings, 3, 3));

        Assert.Equal(["2026-12-31T23:59:59.999990Z", "2027-01-01T00:00:00.000000Z", "2027-01-01T00:00:00.000010Z"],
            records.Select(r => r.GetProperty("timestamp").GetString()));
    }

    [Fact]
    public void RecordsCarryTheContractFieldsAndRealisticAttributes()
    {
        var records = Parse(Generate(Settings(sources: 20), 20_000, 1000));

        foreach (var r in records)
        {
            Assert.Equal(["id", "timestamp", "level", "source", "message", "attributes"], r.EnumerateObject().Select(p => p.Name));
            var attributes = r.GetProperty("attributes");
            Assert.True(attributes.TryGetProperty("region", out _));
            if (attributes.TryGetProperty("status", out var status))
            {
                Assert.Equal(JsonValueKind.Number, status.ValueKind);
                Assert.Equal(JsonValueKind.Number, attributes.GetProperty("duration_ms").ValueKind);
            }

            if (r.GetProperty("level").GetString() is "ERROR" or "FATAL")
            {
                Assert.InRange(attributes.GetProperty("status").GetInt32(), 500, 599);
                Assert.Matches("^[0-9a-f]{32}$", attributes.GetProperty("trace_id").GetString()!);
            }
        }

        var sources = records.Select(r => r.GetProperty("source").GetString()).Distinct().ToList();
        Assert.Equal(20, sources.Count);
        Assert.Contains("checkout", sources);
        Assert.Contains("checkout-2", sources);
        Assert.Contains(records, r => r.GetProperty("message").GetString()!.Contains("/api/v1/", StringComparison.Ordinal));
        Assert.Contains(records, r => r.GetProperty("message").GetString()!.Contains("user ", StringComparison.Ordinal));
        Assert.Contains(records, r => r.GetProperty("message").GetString()!.Any(c => c > 127)); // UTF-8 beyond ASCII
    }

    [Fact]
    public void StringAttributesOptionSendsEveryAttributeAsAString()
    {
        var records = Parse(Generate(Settings(stringAttributes: true), 2_000, 100));

        Assert.All(records.SelectMany(r => r.GetProperty("attributes").EnumerateObject()), p => Assert.Equal(JsonValueKind.String, p.Value.ValueKind));
        Assert.Contains(records, r => r.GetProperty("attributes").TryGetProperty("status", out _));
    }

    [Fact]
    public void NdjsonPayloadsHoldOneRecordPerLineAndTheSameRecordsAsJson()
    {
        var ndjson = Generate(Settings(format: PayloadFormat.Ndjson), 1_000, 100);
        var json = Generate(Settings(format: PayloadFormat.Json), 1_000, 100);

        Assert.All(ndjson, b => Assert.Equal(b.Count, Encoding.UTF8.GetString(b.Payload).Count(c => c == '\n')));
        Assert.Equal(Parse(json).Select(r => r.GetRawText()), Parse(ndjson, PayloadFormat.Ndjson).Select(r => r.GetRawText()));
    }

    [Fact]
    public void ABatchListsExactlyItsErrorLevelRecordsWithTheirSources()
    {
        var generator = new RecordGenerator(Settings());
        var batches = Generate(Settings(), 10_000, 250);
        var records = Parse(batches);

        var expected = records.Where(r => r.GetProperty("level").GetString() == "ERROR")
            .Select(r => (r.GetProperty("id").GetString(), r.GetProperty("source").GetString())).ToList();
        var listed = batches.SelectMany(b => b.Errors).Select(e => ((string?)e.Id, (string?)generator.Sources[e.Source])).ToList();
        Assert.Equal(expected, listed);
        Assert.NotEmpty(listed);
    }

    [Fact]
    public void TheLastBatchHoldsTheRemainder()
    {
        var batches = Generate(Settings(), 1_050, 100);

        Assert.Equal(11, batches.Length);
        Assert.Equal(50, batches[^1].Count);
        Assert.Equal(1_000, batches[^1].FirstSequence);
    }

    [Fact]
    public async Task StreamingBatchesContinueTheSequenceWithoutGapsOrRepeats()
    {
        var generator = new RecordGenerator(Settings());
        await using var streaming = new StreamingBatches(generator, firstSequence: 100, batchSize: 10, capacity: 4);
        var batches = new List<GeneratedBatch>();
        for (var i = 0; i < 20; i++)
            batches.Add((await streaming.NextAsync(CancellationToken.None))!);
        var stats = await streaming.StopAsync();

        Assert.Equal(Enumerable.Range(0, 20).Select(i => 100L + (i * 10)), batches.Select(b => b.FirstSequence));
        Assert.True(stats.Records >= 200);
        Assert.Equal(Parse(Generate(Settings(), 200, 10, first: 100)).Select(r => r.GetRawText()), Parse(batches).Select(r => r.GetRawText()));
    }
}
