using System.Text;
using LogStream.Storage;

namespace LogStream.Storage.Tests;

public class RecordModelTests
{
    [Fact]
    public void SeverityValuesAreFrozenOnDisk()
    {
        // Written to disk and into content hashes: never renumber, only append.
        Assert.Equal(
            [(0, "TRACE"), (1, "DEBUG"), (2, "INFO"), (3, "WARN"), (4, "ERROR"), (5, "FATAL")],
            Enum.GetValues<LogSeverity>().Select(s => ((int)s, s.ToName())));
    }

    [Theory]
    [InlineData("trace", LogSeverity.Trace)]
    [InlineData("Info", LogSeverity.Info)]
    [InlineData(" WARN ", LogSeverity.Warn)]
    [InlineData("warning", LogSeverity.Warn)]
    [InlineData("ERR", LogSeverity.Error)]
    [InlineData("error", LogSeverity.Error)]
    [InlineData("Critical", LogSeverity.Fatal)]
    [InlineData("FATAL", LogSeverity.Fatal)]
    public void SeverityParserAcceptsNamesAndAliasesInAnyCase(string text, LogSeverity expected)
    {
        Assert.True(LogSeverities.TryParse(text, out var parsed));
        Assert.Equal(expected, parsed);
        Assert.Equal(expected, LogSeverities.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("4")]
    [InlineData("verbose")]
    [InlineData("ERRORS")]
    public void SeverityParserRejectsEverythingElse(string text)
    {
        Assert.False(LogSeverities.TryParse(text, out _));
        Assert.Throws<FormatException>(() => LogSeverities.Parse(text));
    }

    [Fact]
    public void RecordRejectsAnIdLongerThan128Utf8Bytes()
    {
        _ = Records.Make(new string('a', 128));
        var ex = Assert.Throws<ArgumentException>(() => Records.Make(new string('é', 65)));
        Assert.Contains("id", ex.Message);
        Assert.Throws<ArgumentException>(() => Records.Make(""));
        Assert.Throws<ArgumentException>(() => Records.Make("bad\ud800id"));
    }

    [Fact]
    public void RecordKeepsItsTimestampInUtc()
    {
        var local = new DateTimeOffset(2026, 11, 26, 17, 0, 0, TimeSpan.FromHours(2));
        var record = Records.Make("a", local);
        Assert.Equal(TimeSpan.Zero, record.Timestamp.Offset);
        Assert.Equal(local.UtcTicks, record.Timestamp.UtcTicks);
    }

    [Fact]
    public void EncodingRoundTripsEveryField()
    {
        var record = new LogRecord("id-1", Records.Base.AddTicks(1234567), LogSeverity.Fatal, "payments", "boom: ünïcødé 🚀",
            new Dictionary<string, string> { ["region"] = "eu", ["attempt"] = "3", ["empty"] = "" });
        var bytes = LogRecordCodec.Encode(record);
        Assert.Equal(LogRecordCodec.GetEncodedLength(record), bytes.Length);
        var decoded = LogRecordCodec.Decode(bytes);
        Assert.Equal(record, decoded);
        Assert.Equal(["attempt", "empty", "region"], decoded.Attributes.Keys);
        Assert.Equal("eu", decoded.Attributes["region"]);
    }

    [Fact]
    public void ContentHashIgnoresTheOrderAttributesCameIn()
    {
        var a = Records.Make("x", attributes: [new("b", "2"), new("a", "1")]);
        var b = Records.Make("x", attributes: [new("a", "1"), new("b", "2")]);
        Assert.Equal(LogRecordCodec.ComputeContentHash(a), LogRecordCodec.ComputeContentHash(b));
        Assert.NotEqual(LogRecordCodec.ComputeContentHash(a), LogRecordCodec.ComputeContentHash(Records.Make("x", attributes: [new("a", "1")])));
    }

    [Fact]
    public void EncodingOverheadIsFourteenBytesPlusTheText()
    {
        // 8 timestamp + 1 level + 4 one-byte varints (id, source, message lengths, attribute count) + text.
        var record = Records.Make("0190c3e4-7b3a-7cc1-9c1f-1a2b3c4d5e6f", source: "checkout", message: new string('m', 100));
        Assert.Equal(13 + 36 + 8 + 100, LogRecordCodec.Encode(record).Length);
    }

    [Fact]
    public void DecoderRejectsTruncatedOrPaddedBytes()
    {
        var bytes = LogRecordCodec.Encode(Records.Make("a", attributes: [new("k", "v")]));
        Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode([.. bytes, 0]));
        bytes[8] = 9;
        Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes));
    }

    [Fact]
    public void AttributesRejectRepeatedOrEmptyKeys()
    {
        Assert.Throws<ArgumentException>(() => Records.Make("a", attributes: [new("k", "1"), new("k", "2")]));
        Assert.Throws<ArgumentException>(() => Records.Make("a", attributes: [new("", "1")]));
    }

    [Fact]
    public void PartitionKeysHaveTheDocumentedForms()
    {
        var timestamp = new DateTimeOffset(2026, 11, 26, 15, 42, 7, TimeSpan.Zero);
        var record = Records.Make("a", timestamp, source: "check/out");
        var hour = TimeSpan.FromHours(1);
        Assert.Equal(new BucketKey("source:check/out", new DateTimeOffset(2026, 11, 26, 15, 0, 0, TimeSpan.Zero)),
            new Partitioner(PartitioningStrategy.Source, hour).Place(record));
        Assert.Equal("time:2026-11-26T15:00Z", new Partitioner(PartitioningStrategy.Time, hour).Place(record).Partition);
        Assert.Equal("source+time:2026-11-26T15:40Z/check/out",
            new Partitioner(PartitioningStrategy.SourceAndTime, TimeSpan.FromMinutes(10)).Place(record).Partition);
        Assert.Equal("check/out", Partitioner.SourceOfPartition("source+time:2026-11-26T15:40Z/check/out"));
        Assert.Equal("checkout", Partitioner.SourceOfPartition("source:checkout"));
        Assert.Null(Partitioner.SourceOfPartition("time:2026-11-26T15:00Z"));
    }

    [Fact]
    public void BucketsFloorToTheWidthAlsoBefore1970()
    {
        var partitioner = new Partitioner(PartitioningStrategy.Source, TimeSpan.FromHours(1));
        Assert.Equal(new DateTimeOffset(1969, 12, 31, 23, 0, 0, TimeSpan.Zero),
            partitioner.BucketOf(new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 15, 0, 0, TimeSpan.Zero),
            partitioner.BucketOf(new DateTimeOffset(2026, 11, 26, 15, 0, 0, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 15, 0, 0, TimeSpan.Zero),
            partitioner.BucketOf(new DateTimeOffset(2026, 11, 26, 15, 59, 59, 999, TimeSpan.Zero)));
    }

    [Fact]
    public void PartitionFolderNamesAreSafeAndDistinct()
    {
        Assert.Equal("source%3Acheckout", SegmentFormat.PartitionDirectoryName("source:checkout"));
        Assert.Equal("source%3A..%2Fetc", SegmentFormat.PartitionDirectoryName("source:../etc"));
        Assert.Equal("%2E.", SegmentFormat.PartitionDirectoryName(".."));
        Assert.DoesNotContain('/', SegmentFormat.PartitionDirectoryName("source+time:2026-11-26T15:00Z/a/b"));
        Assert.NotEqual(SegmentFormat.PartitionDirectoryName("source:A"), SegmentFormat.PartitionDirectoryName("source:%41"));
        Assert.Equal(Encoding.ASCII.GetByteCount(SegmentFormat.PartitionDirectoryName("source:ü")), SegmentFormat.PartitionDirectoryName("source:ü").Length);
    }
}
