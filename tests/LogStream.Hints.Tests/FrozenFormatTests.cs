using LogStream.Node.Replication.Hints;
using LogStream.Storage;

namespace LogStream.Hints.Tests;

/// <summary>
/// Reads hint files written by format version 1 (committed under TestData/format-v1): two segments of node-1 and a
/// cursor 7 records into the first entry. A change that cannot read them breaks every node's pending hints.
/// </summary>
public sealed class FrozenFormatTests
{
    public static readonly LogRecord Special = new("v1-special-ü", Records.Epoch.AddTicks(987654321), LogSeverity.Error, "payments",
        "card declined \u2603", [new("tenant", "acme"), new("attempt", "3")]);

    [Fact]
    public async Task HintFilesOfFormatVersion1StillReplay()
    {
        using var directory = new TempDirectory();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "format-v1", "node-1")))
        {
            Directory.CreateDirectory(Path.Combine(directory.Path, "node-1"));
            File.Copy(file, Path.Combine(directory.Path, "node-1", Path.GetFileName(file)));
        }
        await using var harness = new HintLogHarness();
        await using var log = await harness.OpenCopyAsync(directory.Path);

        Assert.Equal(2, log.Recovery!.Segments);
        Assert.Equal(0, log.Recovery.CorruptRegions + log.Recovery.Truncations + log.Recovery.CursorsLost);
        Assert.Equal(34, log.PendingFor("node-1"));
        var replayed = new List<LogRecord>();
        while ((await log.ReplayAsync("node-1", 10, (records, _) =>
               {
                   replayed.AddRange(records);
                   return Task.FromResult(true);
               })).Delivered > 0)
        {
        }
        var expected = Enumerable.Range(0, 4).SelectMany(n => Records.Many($"v1-{n}", 10, messageBytes: 100)).Skip(7).Append(Special).ToList();
        Assert.Equal(expected, replayed);
        Assert.Equal(Special.Attributes, replayed[^1].Attributes);
    }
}
