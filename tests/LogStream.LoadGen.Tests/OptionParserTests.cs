using LogStream.LoadGen.Options;

namespace LogStream.LoadGen.Tests;

public sealed class OptionParserTests
{
    private static LoadGenOptions Parse(params string[] args)
    {
        var outcome = OptionParser.Parse(args);
        Assert.Null(outcome.Error);
        return outcome.Options!;
    }

    private static string Fails(params string[] args)
    {
        var outcome = OptionParser.Parse(args);
        Assert.Null(outcome.Options);
        Assert.False(outcome.HelpRequested);
        return outcome.Error!;
    }

    [Fact]
    public void NoArgumentsGiveTheDocumentedDefaults()
    {
        var o = Parse();

        Assert.Equal(["http://localhost:5100/", "http://localhost:5101/", "http://localhost:5102/"], o.Nodes.Select(n => n.ToString()));
        Assert.Equal(200_000, o.Records);
        Assert.Null(o.Duration);
        Assert.Equal(1000, o.Batch);
        Assert.Equal(8, o.Concurrency);
        Assert.Equal(Consistency.Quorum, o.Consistency);
        Assert.Equal(PayloadFormat.Json, o.Format);
        Assert.Equal(0.03, o.ErrorRate);
        Assert.Equal(0, o.Retries);
        Assert.Equal(8_000, o.EffectiveWarmupRecords);
        Assert.False(o.Verify);
        Assert.False(o.DryRun);
    }

    [Fact]
    public void EveryOptionIsParsedWithSpaceOrEqualsSign()
    {
        var o = Parse("--nodes", "http://a:1,https://b:2/prefix", "--records=1.5k".Replace("1.5k", "1500"), "--batch", "1", "--concurrency=64",
            "--consistency", "all", "--format=ndjson", "--sources", "12", "--error-rate", "0.05", "--message-bytes", "300",
            "--string-attributes", "--seed", "123", "--run-id", "bench-1", "--start-time", "2026-11-26T15:00:00Z", "--time-step", "1ms",
            "--warmup", "0", "--queries", "50", "--query-concurrency", "2", "--query-limit", "10", "--query-consistency", "ONE",
            "--verify", "--verify-page", "500", "--retries", "3", "--timeout", "500ms", "--generator-threads", "1",
            "--json", "out/result.json", "--quiet");

        Assert.Equal(["http://a:1/", "https://b:2/prefix/"], o.Nodes.Select(n => n.ToString()));
        Assert.Equal(1500, o.Records);
        Assert.Equal(1, o.Batch);
        Assert.Equal(64, o.Concurrency);
        Assert.Equal(Consistency.All, o.Consistency);
        Assert.Equal(PayloadFormat.Ndjson, o.Format);
        Assert.Equal(12, o.Sources);
        Assert.Equal(0.05, o.ErrorRate);
        Assert.Equal(300, o.MessageBytes);
        Assert.True(o.StringAttributes);
        Assert.Equal(123UL, o.Seed);
        Assert.Equal("bench-1", o.RunId);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 15, 0, 0, TimeSpan.Zero), o.StartTime);
        Assert.Equal(TimeSpan.FromMilliseconds(1), o.TimeStep);
        Assert.Equal(0, o.EffectiveWarmupRecords);
        Assert.Equal(50, o.Queries);
        Assert.Equal(2, o.QueryConcurrency);
        Assert.Equal(10, o.QueryLimit);
        Assert.Equal(Consistency.One, o.QueryConsistency);
        Assert.True(o.Verify);
        Assert.Equal(500, o.VerifyPageSize);
        Assert.Equal(3, o.Retries);
        Assert.Equal(TimeSpan.FromMilliseconds(500), o.Timeout);
        Assert.Equal(1, o.GeneratorThreads);
        Assert.Equal("out/result.json", o.JsonPath);
        Assert.True(o.Quiet);
    }

    [Fact]
    public void AQueryOnlyRunSendsNoWarmupRecords() => Assert.Equal(0, Parse("--records", "0", "--queries", "10").EffectiveWarmupRecords);

    [Theory]
    [InlineData("250", 250)]
    [InlineData("10k", 10_000)]
    [InlineData("5M", 5_000_000)]
    [InlineData("1_000_000", 1_000_000)]
    public void CountsTakeThousandsAndMillionsSuffixes(string text, long expected) => Assert.Equal(expected, Parse("--records", text).Records);

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("30", 30_000)]
    [InlineData("2m", 120_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("250ms", 250)]
    [InlineData("1h", 3_600_000)]
    public void DurationsTakeUnits(string text, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Parse("--duration", text).Duration);

    [Fact]
    public void DashDashHelpAndDashHAskForHelp()
    {
        Assert.True(OptionParser.Parse(["--help"]).HelpRequested);
        Assert.True(OptionParser.Parse(["--records", "5", "-h"]).HelpRequested);
    }

    [Fact]
    public async Task HelpPrintsUsageWithEveryOptionAndExitsZero()
    {
        var stdout = new StringWriter();
        var code = await LoadGenCommand.RunAsync(["--help"], stdout, new StringWriter(), CancellationToken.None);

        var help = stdout.ToString();
        Assert.Equal(0, code);
        Assert.StartsWith("LogStream.LoadGen", help, StringComparison.Ordinal);
        Assert.Contains("Usage:", help, StringComparison.Ordinal);
        foreach (var name in OptionParser.OptionNamesForTests)
            Assert.Contains(name, help, StringComparison.Ordinal);
        Assert.Contains("Exit codes", help, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Unknown option '--record'", "--record", "5")]
    [InlineData("needs a value", "--batch")]
    [InlineData("needs a value", "--batch", "--verify")]
    [InlineData("--batch: must be between 1", "--batch", "0")]
    [InlineData("is not ONE, QUORUM or ALL", "--consistency", "TWO")]
    [InlineData("is not json or ndjson", "--format", "xml")]
    [InlineData("not a fraction between 0 and 1", "--error-rate", "5")]
    [InlineData("is not an http:// or https:// URL", "--nodes", "localhost:5100")]
    [InlineData("not both", "--records", "5", "--duration", "5s")]
    [InlineData("given twice", "--batch", "5", "--batch", "6")]
    [InlineData("is not a duration", "--duration", "soon")]
    [InlineData("at least 1us", "--time-step", "100ns")]
    [InlineData("takes no value", "--verify=yes")]
    [InlineData("Unexpected argument 'extra'", "extra")]
    [InlineData("must be 1 to 64 letters", "--run-id", "a b")]
    [InlineData("give --records, not --duration", "--dry-run", "--duration", "5s")]
    public void BadArgumentsAreRejectedWithAMessageNamingTheProblem(string message, params string[] args) =>
        Assert.Contains(message, Fails(args), StringComparison.Ordinal);

    [Fact]
    public async Task ABadArgumentExitsWithTwoAndPointsToHelp()
    {
        var stderr = new StringWriter();
        var code = await LoadGenCommand.RunAsync(["--batch", "many"], new StringWriter(), stderr, CancellationToken.None);

        Assert.Equal(2, code);
        Assert.Contains("--batch: 'many' is not a whole number", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("--help", stderr.ToString(), StringComparison.Ordinal);
    }
}
