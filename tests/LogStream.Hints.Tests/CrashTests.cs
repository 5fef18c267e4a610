using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using LogStream.Node.Replication.Hints;
using Xunit.Abstractions;

namespace LogStream.Hints.Tests;

/// <summary>
/// Real processes, real SIGKILL: a child stores hints from several writers while it replays them, printing every
/// acknowledged store and every batch it delivers; it is killed at a random moment. After every kill the log must
/// open with no corruption, hold every acknowledged hint not yet delivered, and re-deliver nothing but (at most)
/// the one batch that was in flight.
/// </summary>
public class CrashTests(ITestOutputHelper output)
{
    private const int Rounds = 20;
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ProgressDeadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task KilledWhileStoringAndReplayingTheLogLosesNoHintAndRedeliversAtMostTheBatchInFlight()
    {
        using var directory = new TempDirectory();
        var harness = Path.Combine(AppContext.BaseDirectory, "LogStream.Hints.CrashHarness.dll");
        Assert.True(File.Exists(harness), $"crash harness not built next to the tests: {harness}");
        var random = new Random(20261126);
        var acknowledged = new HashSet<string>(StringComparer.Ordinal);
        var delivered = new HashSet<string>(StringComparer.Ordinal);
        var completed = new HashSet<string>(StringComparer.Ordinal);
        var truncations = 0;

        for (var round = 1; round <= Rounds; round++)
        {
            // Mostly while busy (after a random number of printed lines), sometimes at a random moment of start-up.
            var run = random.Next(5) == 0
                ? await RunAndKillAsync(harness, directory.Path, round, killAfterLines: 0, killAfterMs: random.Next(0, 400))
                : await RunAndKillAsync(harness, directory.Path, round, killAfterLines: random.Next(1, 1500));
            acknowledged.UnionWith(run.Acknowledged);
            foreach (var batch in run.Batches)
                delivered.UnionWith(batch);
            foreach (var batch in run.Completed)
                completed.UnionWith(batch);

            // Read what a restart finds, on a copy so the next round continues from the crashed state itself.
            using var copy = new TempDirectory();
            CopyDirectory(directory.Path, copy.Path);
            await using var harnessLog = new HintLogHarness(HintCrashHarnessOptionsForTest());
            var log = await harnessLog.OpenCopyAsync(copy.Path);
            Assert.Equal(0, log.Recovery!.CorruptRegions);
            truncations += log.Recovery.Truncations;
            var pending = new List<string>();
            while ((await log.ReplayAsync("node-1", 1000, (records, _) =>
                   {
                       pending.AddRange(records.Select(r => r.Id));
                       return Task.FromResult(true);
                   })).Delivered > 0)
            {
            }
            await log.DisposeAsync();

            Assert.Equal(pending.Count, pending.Distinct().Count());
            var lost = acknowledged.Where(id => !delivered.Contains(id) && !pending.Contains(id)).Take(5).ToList();
            Assert.True(lost.Count == 0, $"round {round}: acknowledged hints neither delivered nor pending: {string.Join(", ", lost)}");
            // A batch whose replay call returned is never delivered again; only the one in flight at a crash may be
            // (it can be the previous round's, when this child died before it got to replay).
            var redelivered = pending.Where(delivered.Contains).ToHashSet(StringComparer.Ordinal);
            var again = redelivered.Where(completed.Contains).Take(5).ToList();
            Assert.True(again.Count == 0, $"round {round}: hints of completed batches are pending again: {string.Join(", ", again)}");
            Assert.True(redelivered.Count < HintCrashHarnessOptions.MaxBatch,
                $"round {round}: {redelivered.Count} delivered hints are pending again, more than one batch");
            output.WriteLine($"round {round}: {run.Acknowledged.Count} acked, {run.Batches.Count} batches delivered" +
                $"{(run.InFlight is null ? "" : $" (one in flight, {run.InFlight.Length} records)")}; after restart {pending.Count} pending, " +
                $"{redelivered.Count} would be re-delivered, {log.Recovery.Truncations} torn tails");
        }
        Assert.True(acknowledged.Count > 500, $"the child acknowledged only {acknowledged.Count} hints in {Rounds} rounds");
        Assert.True(delivered.Count > 100, $"the child delivered only {delivered.Count} hints in {Rounds} rounds");
        output.WriteLine($"{Rounds} rounds: {acknowledged.Count} hints acknowledged, {delivered.Count} delivered, {truncations} torn tails");
    }

    private static HintOptions HintCrashHarnessOptionsForTest() => HintCrashHarnessOptions.Create();

    /// <param name="Batches">Every batch the child started to deliver.</param>
    /// <param name="Completed">The batches whose replay call returned (their position was durable).</param>
    /// <param name="InFlight">The batch being delivered when the child was killed.</param>
    private sealed record Run(List<string> Acknowledged, List<string[]> Batches, List<string[]> Completed, string[]? InFlight);

    /// <summary>
    /// Starts the child; SIGKILLs it once it printed <paramref name="killAfterLines"/> acks and batches, or when that is 0,
    /// <paramref name="killAfterMs"/> after starting it (possibly before it finished recovery).
    /// </summary>
    private static async Task<Run> RunAndKillAsync(string harness, string directory, int seed, int killAfterLines, int killAfterMs = 0)
    {
        var info = new ProcessStartInfo("dotnet", [harness, directory, "4", seed.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var lines = new ConcurrentQueue<string>();
        var opened = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = process.StandardError.ReadToEndAsync();
        var reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lines.Enqueue(line);
                if (line.StartsWith("OPEN ", StringComparison.Ordinal))
                    opened.TrySetResult(line);
                else if (lines.Count >= killAfterLines)
                    reached.TrySetResult();
            }
        });

        try
        {
            if (killAfterLines == 0)
            {
                // A random moment, possibly inside recovery: there is no condition to wait for.
                await Task.Delay(killAfterMs);
            }
            else
            {
                var open = await opened.Task.WaitAsync(StartDeadline);
                Assert.Contains("corrupt=0", open);
                // A slow shared machine may not get there in time: kill then anyway, but a child that did nothing is stuck.
                await Task.WhenAny(reached.Task, Task.Delay(ProgressDeadline));
                Assert.True(lines.Count > 1, $"the child printed nothing after opening within {ProgressDeadline}");
            }
        }
        finally
        {
            process.Kill(); // SIGKILL on Unix
            await process.WaitForExitAsync().WaitAsync(ProgressDeadline);
        }
        await reader.WaitAsync(ProgressDeadline);
        return await ParseAsync(lines, stderr);
    }

    private static async Task<Run> ParseAsync(ConcurrentQueue<string> lines, Task<string> stderr)
    {
        var errors = lines.Where(l => l.StartsWith("ERROR", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, $"child reported: {string.Join(" | ", errors.Take(3))} {await stderr}");

        var acknowledged = new List<string>();
        var batches = new List<string[]>();
        var completed = new List<string[]>();
        string[]? inFlight = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("ACK ", StringComparison.Ordinal))
            {
                acknowledged.AddRange(line[4..].Split(','));
            }
            else if (line.StartsWith("BATCH ", StringComparison.Ordinal))
            {
                inFlight = line[6..].Split(',');
                batches.Add(inFlight);
            }
            else if (line == "DONE" && inFlight is not null)
            {
                completed.Add(inFlight);
                inFlight = null;
            }
        }
        return new Run(acknowledged, batches, completed, inFlight);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var child in Directory.GetDirectories(from))
            CopyDirectory(child, Path.Combine(to, Path.GetFileName(child)));
    }
}
