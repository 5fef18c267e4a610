using System.Collections.Concurrent;
using System.Diagnostics;
using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace LogStream.Storage.Tests;

/// <summary>
/// Real processes, real SIGKILL: a child appends concurrently (and seals, so kills land inside rewrites too) and
/// prints every acknowledged id; it is killed at a random moment, and after every kill the store must open cleanly
/// with every acknowledged id present exactly once.
/// </summary>
public class CrashTests(ITestOutputHelper output)
{
    // LOGSTREAM_CRASH_ROUNDS raises the count for a soak run; 24 keeps the suite well under a minute.
    private static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("LOGSTREAM_CRASH_ROUNDS"), out var n) ? n : 24;
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan AckDeadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task KilledWritersNeverLoseAnAcknowledgedRecord()
    {
        using var directory = new TempDirectory();
        var harness = Path.Combine(AppContext.BaseDirectory, "LogStream.Storage.CrashHarness.dll");
        Assert.True(File.Exists(harness), $"crash harness not built next to the tests: {harness}");
        var acknowledged = new HashSet<string>(StringComparer.Ordinal);
        var seed = int.TryParse(Environment.GetEnvironmentVariable("LOGSTREAM_CRASH_SEED"), out var s) ? s : 20261126;
        var random = new Random(seed);
        var meters = new StoreHarness().MeterFactory;
        var totalTruncations = 0;

        for (var round = 1; round <= Rounds; round++)
        {
            // Kill moments: during start-up/recovery, right after opening, or after a random number of acks.
            var mode = random.Next(6);
            var target = mode switch { 0 => -1, 1 => 0, _ => random.Next(1, 4000) };
            var acks = await RunAndKillAsync(harness, directory.Path, round, target, random.Next(0, 400));
            acknowledged.UnionWith(acks);

            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            await using var store = new SegmentLogStore(directory.Path, CrashHarnessOptions.Create(), time, new StorageMetrics(meters));
            await store.OpenAsync();
            Assert.Equal(0, store.Recovery!.CorruptRegions);
            totalTruncations += store.Recovery.Truncations;

            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var record in await store.ReadEverythingAsync())
                counts[record.Id] = counts.GetValueOrDefault(record.Id) + 1;
            var missing = acknowledged.Where(id => !counts.ContainsKey(id)).Take(5).ToList();
            Assert.True(missing.Count == 0, $"round {round}: acknowledged ids missing after restart: {string.Join(", ", missing)}");
            var duplicated = counts.Where(c => c.Value > 1).Take(5).ToList();
            Assert.True(duplicated.Count == 0, $"round {round}: ids stored more than once: {string.Join(", ", duplicated)}");
            output.WriteLine($"round {round}: kill after {(target < 0 ? "a random delay" : $"{target} acks")}, {acks.Count} acked this round, " +
                $"{acknowledged.Count} acked in all, {counts.Count} stored, {store.Recovery.Truncations} torn tails");
        }
        Assert.True(acknowledged.Count > 1000, $"the child acknowledged only {acknowledged.Count} records in {Rounds} rounds");
        output.WriteLine($"{Rounds} rounds, {acknowledged.Count} acknowledged records, {totalTruncations} torn tails truncated");
    }

    /// <summary>Starts the child; kills it (SIGKILL) after <paramref name="target"/> acks, or after a delay when negative.</summary>
    private async Task<List<string>> RunAndKillAsync(string harness, string directory, int seed, int target, int delayMs)
    {
        var info = new ProcessStartInfo("dotnet", [harness, directory, "8", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var acks = new ConcurrentQueue<string>();
        var errors = new ConcurrentQueue<string>();
        var opened = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = process.StandardError.ReadToEndAsync();
        var reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("ACK ", StringComparison.Ordinal))
                {
                    acks.Enqueue(line[4..]);
                    if (target > 0 && acks.Count >= target)
                        reached.TrySetResult();
                }
                else if (line.StartsWith("OPEN ", StringComparison.Ordinal))
                {
                    opened.TrySetResult(line);
                }
                else if (line.StartsWith("ERROR", StringComparison.Ordinal))
                {
                    errors.Enqueue(line);
                }
            }
        });

        try
        {
            if (target < 0)
            {
                // A random moment, possibly before the child finished recovery: no condition to wait for.
                await Task.Delay(delayMs);
            }
            else
            {
                var line = await opened.Task.WaitAsync(StartDeadline);
                Assert.Contains("corrupt=0", line);
                if (target > 0)
                {
                    // A slow (shared) machine may not reach the target in time: kill then anyway, but a child that
                    // acknowledges nothing at all is stuck, and that fails the test.
                    await Task.WhenAny(reached.Task, Task.Delay(AckDeadline));
                    Assert.False(acks.IsEmpty, $"the child acknowledged nothing within {AckDeadline}");
                }
            }
        }
        finally
        {
            process.Kill(); // SIGKILL on Unix
            await process.WaitForExitAsync().WaitAsync(AckDeadline);
        }
        await reader.WaitAsync(AckDeadline);
        Assert.True(errors.IsEmpty, $"child reported: {string.Join(" | ", errors.Take(3))} {await stderr}");
        return [.. acks];
    }
}
