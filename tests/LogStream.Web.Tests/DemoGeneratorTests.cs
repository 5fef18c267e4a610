using System.Text.Json;
using LogStream.Web.Demo;

namespace LogStream.Web.Tests;

/// <summary>The demo's logs: realistic, several sources, about 3 % ERROR, valid for the node's API.</summary>
public sealed class DemoGeneratorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 15, 30, 0, TimeSpan.Zero);

    [Fact]
    public void GeneratesTheRequestedCountWithUniqueIdsOfTheRun()
    {
        var records = DemoGenerator.Generate("demo-1", 600, 0.03, Now, TimeSpan.FromMinutes(1), seed: 7);
        Assert.Equal(600, records.Count);
        Assert.Equal(600, records.Select(r => r.Id).Distinct().Count());
        Assert.All(records, r => Assert.StartsWith("demo-1-", r.Id, StringComparison.Ordinal));
        Assert.All(records, r => Assert.Equal("demo-1", r.Attributes["demo_run"]));
    }

    [Theory]
    [InlineData(600, 0.03, 18)]
    [InlineData(100, 0.03, 3)]
    [InlineData(50, 0.03, 2)]
    [InlineData(10, 0, 0)]
    [InlineData(10, 1, 10)]
    public void ErrorsAreExactlyTheRoundedShare(int count, double rate, int errors)
    {
        var records = DemoGenerator.Generate("r", count, rate, Now, TimeSpan.FromMinutes(1), seed: 1);
        Assert.Equal(errors, records.Count(r => r.Level == "ERROR"));
        Assert.DoesNotContain(records, r => r.Level == "FATAL");
    }

    [Fact]
    public void UsesEverySourceAndTheUsualLevelsWithRecognisableMessages()
    {
        var records = DemoGenerator.Generate("r", 600, 0.03, Now, TimeSpan.FromMinutes(1), seed: 3);
        Assert.Equal(DemoGenerator.Sources.Order(), records.Select(r => r.Source).Distinct().Order());
        var levels = records.GroupBy(r => r.Level).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(levels["INFO"] > 400, $"INFO: {levels["INFO"]}");
        Assert.True(levels["DEBUG"] > 20 && levels["WARN"] > 20, string.Join(", ", levels));
        Assert.All(records, r => Assert.DoesNotContain("{", r.Message, StringComparison.Ordinal));
        Assert.All(records.Where(r => r.Level == "ERROR"),
            r => Assert.Matches("fail|timeout|refused|unavailable|500|503|declined|not found|exception|negative|rolled back", r.Message));
    }

    [Fact]
    public void TimestampsLieWithinTheSpreadBeforeNow()
    {
        var records = DemoGenerator.Generate("r", 500, 0.03, Now, TimeSpan.FromMinutes(1), seed: 5);
        Assert.All(records, r => Assert.InRange(r.Timestamp, Now.AddMinutes(-1), Now));
    }

    [Fact]
    public void TheSameSeedGivesTheSameRecords()
    {
        var a = DemoGenerator.Generate("r", 50, 0.03, Now, TimeSpan.FromMinutes(1), seed: 11);
        var b = DemoGenerator.Generate("r", 50, 0.03, Now, TimeSpan.FromMinutes(1), seed: 11);
        Assert.Equal(DemoGenerator.ToJson(a), DemoGenerator.ToJson(b));
    }

    [Fact]
    public void TheJsonIsAnArrayOfRecordsAsThePublicApiTakesThem()
    {
        var records = DemoGenerator.Generate("r", 20, 0.03, Now, TimeSpan.FromMinutes(1), seed: 2);
        using var json = JsonDocument.Parse(DemoGenerator.ToJson(records));
        Assert.Equal(20, json.RootElement.GetArrayLength());
        foreach (var (element, record) in json.RootElement.EnumerateArray().Zip(records))
        {
            Assert.Equal(["id", "timestamp", "level", "source", "message", "attributes"], element.EnumerateObject().Select(p => p.Name));
            Assert.Equal(record.Id, element.GetProperty("id").GetString());
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", element.GetProperty("timestamp").GetString()!);
            Assert.Equal(record.Timestamp.ToUnixTimeMilliseconds(), DateTimeOffset.Parse(element.GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds());
            Assert.All(element.GetProperty("attributes").EnumerateObject(), a => Assert.Equal(JsonValueKind.String, a.Value.ValueKind));
        }
    }
}
