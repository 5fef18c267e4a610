using System.Text;
using LogStream.Node.Api;
using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Node.Tests.Api;

public sealed class RecordBatchParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly RecordBatchParser _parser = new(new ApiOptions { MaxBatchRecords = 5 }, TimeSpan.FromDays(7), new FakeTimeProvider(Now));

    private ParsedBatch Parse(string body, bool ndjson = false) => _parser.Parse(Encoding.UTF8.GetBytes(body), ndjson);

    private static string Record(string fields = "") =>
        "{\"timestamp\":\"2026-11-26T11:59:00.123Z\",\"level\":\"error\",\"source\":\"checkout\",\"message\":\"boom\"" + fields + "}";

    [Fact]
    public void AValidRecordKeepsEveryFieldAndStoresAttributeValuesAsText()
    {
        var batch = Parse("[" + Record(",\"id\":\"r1\",\"attributes\":{\"status\":500,\"ok\":false,\"region\":\"eu\",\"ratio\":1.50}") + "]");

        Assert.True(batch.Valid, string.Join("; ", batch.Errors));
        var record = Assert.Single(batch.Records);
        Assert.Equal("r1", record.Id);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 11, 59, 0, 123, TimeSpan.Zero), record.Timestamp);
        Assert.Equal(LogSeverity.Error, record.Level);
        Assert.Equal("checkout", record.Source);
        Assert.Equal("boom", record.Message);
        Assert.Equal("500", record.Attributes["status"]);
        Assert.Equal("false", record.Attributes["ok"]);
        Assert.Equal("1.50", record.Attributes["ratio"]);
    }

    [Fact]
    public void ARecordWithoutAnIdGetsAUuidV7()
    {
        var batch = Parse("[" + Record() + "," + Record() + "]");

        Assert.Equal(2, batch.Records.Count);
        Assert.All(batch.Records, r => Assert.Equal(7, Guid.Parse(r.Id).Version));
        Assert.NotEqual(batch.Records[0].Id, batch.Records[1].Id);
    }

    [Theory]
    [InlineData("WARNING", LogSeverity.Warn)]
    [InlineData("err", LogSeverity.Error)]
    [InlineData("CRITICAL", LogSeverity.Fatal)]
    [InlineData("trace", LogSeverity.Trace)]
    public void LevelAliasesAreAccepted(string level, LogSeverity expected)
    {
        var batch = Parse($"[{{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":\"{level}\",\"source\":\"s\",\"message\":\"m\"}}]");
        Assert.Equal(expected, Assert.Single(batch.Records).Level);
    }

    [Theory]
    [InlineData("2026-11-26T11:00:00Z")]
    [InlineData("2026-11-26T12:00:00+01:00")]
    [InlineData("2026-11-26t11:00:00.123456789z")]
    [InlineData("2026-11-26 11:00:00.5-00:00")]
    public void Rfc3339TimestampsAreAccepted(string timestamp)
    {
        Assert.True(RecordBatchParser.TryParseTimestamp(timestamp, out var parsed), timestamp);
        Assert.Equal(TimeSpan.Zero, parsed.Offset);
    }

    [Theory]
    [InlineData("2026-11-26T11:00:00")]
    [InlineData("2026-11-26")]
    [InlineData("1764154800")]
    [InlineData("26/11/2026 11:00:00Z")]
    [InlineData("2026-13-26T11:00:00Z")]
    public void TimestampsWithoutAnOffsetOrNotRfc3339AreRefused(string timestamp) =>
        Assert.False(RecordBatchParser.TryParseTimestamp(timestamp, out _), timestamp);

    [Theory]
    [InlineData("[" + "{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":\"INFO\",\"source\":\"s\"}" + "]", 0, "message", "is required")]
    [InlineData("[{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":\"INFO\",\"source\":\"s\",\"message\":\"m\"},{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":7,\"source\":\"s\",\"message\":\"m\"}]", 1, "level", "must be a string")]
    [InlineData("[{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":\"INFO\",\"source\":\"\",\"message\":\"m\"}]", 0, "source", "must not be empty")]
    [InlineData("[{\"timestamp\":\"2026-11-01T11:00:00Z\",\"level\":\"INFO\",\"source\":\"s\",\"message\":\"m\"}]", 0, "timestamp", "older than the retention")]
    [InlineData("[{\"timestamp\":\"2026-12-26T11:00:00Z\",\"level\":\"INFO\",\"source\":\"s\",\"message\":\"m\"}]", 0, "timestamp", "in the future")]
    [InlineData("[{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":\"INFO\",\"source\":\"s\",\"message\":\"m\",\"message\":\"n\"}]", 0, "message", "appears twice")]
    [InlineData("[{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":\"INFO\",\"source\":\"s\",\"message\":\"m\",\"attributes\":[1]}]", 0, "attributes", "flat JSON object")]
    [InlineData("[{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":\"INFO\",\"source\":\"s\",\"message\":\"m\",\"attributes\":{\"k\":null}}]", 0, "attributes.k", "string, number or boolean")]
    [InlineData("[{\"timestamp\":\"2026-11-26T11:00:00Z\",\"level\":\"INFO\",\"source\":\"s\",\"message\":\"m\",\"id\":\"\"}]", 0, "id", "1 to 128")]
    [InlineData("[42]", 0, "$", "must be a JSON object")]
    public void EachProblemNamesTheRecordAndTheField(string body, int index, string field, string words)
    {
        var batch = Parse(body);

        Assert.False(batch.Valid);
        Assert.Empty(batch.Records);
        var error = batch.Errors[0];
        Assert.Equal(index, error.Index);
        Assert.Equal(field, error.Field);
        Assert.Contains(words, error.Message);
    }

    [Fact]
    public void MalformedJsonIsReportedWithItsPosition()
    {
        var batch = Parse("[" + Record() + ",{\"timestamp\": }]");

        var error = Assert.Single(batch.Errors);
        Assert.Equal(1, error.Index);
        Assert.Contains("malformed JSON at byte", error.Message);
    }

    [Fact]
    public void NdjsonRecordsAreNumberedByRecordAndBlankLinesSkipped()
    {
        var batch = Parse(Record() + "\n\n" + Record() + "\r\n{\"level\":\"INFO\"}\n", ndjson: true);

        Assert.False(batch.Valid);
        Assert.All(batch.Errors, e => Assert.Equal(2, e.Index));
        Assert.Contains(batch.Errors, e => e.Field == "timestamp");
        Assert.True(Parse(Record() + "\n" + Record(), ndjson: true).Records.Count == 2);
    }

    [Fact]
    public void ABatchLargerThanTheLimitIsFlaggedTooLarge()
    {
        var batch = Parse("[" + string.Join(",", Enumerable.Repeat(Record(), 6)) + "]");

        Assert.True(batch.TooManyRecords);
        Assert.False(batch.Valid);
    }

    [Fact]
    public void OnlyTheFirstFiftyProblemsAreListedAndTheRestCounted()
    {
        var parser = new RecordBatchParser(new ApiOptions(), TimeSpan.FromDays(7), new FakeTimeProvider(Now));
        var body = "[" + string.Join(",", Enumerable.Repeat("{}", 30)) + "]";

        var batch = parser.Parse(Encoding.UTF8.GetBytes(body), ndjson: false);

        Assert.Equal(RecordBatchParser.MaxReportedErrors + 1, batch.Errors.Count);
        Assert.Contains("more problems not listed", batch.Errors[^1].Message);
    }
}
