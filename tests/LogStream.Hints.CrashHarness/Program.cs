using System.Diagnostics.Metrics;
using System.Text;
using LogStream.Node.Replication.Hints;
using LogStream.Storage;
using Microsoft.Extensions.DependencyInjection;

// Child process of the hint crash test: opens the hint log (recovery), then until killed stores hints from several
// writers and replays them at the same time. It prints
//   OPEN pending=<n> truncations=<n> corrupt=<n>   after recovery,
//   ACK <id>,<id>,…                                 once a store returned (the hints are durable),
//   BATCH <id>,<id>,…                               inside the delivery callback (the batch is being delivered),
//   DONE                                            once that replay call returned (its position is durable).
// Usage: HintCrashHarness <hints directory> <writers> <seed>
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: HintCrashHarness <hints directory> <writers> <seed>");
    return 2;
}

var directory = args[0];
var writers = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var seed = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
var meterFactory = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
var log = new HintLog(directory, HintCrashHarnessOptions.Create(), TimeProvider.System, new HintMetrics(meterFactory));
await log.OpenAsync();

var output = Console.OpenStandardOutput();
var outputGate = new object();
void Emit(string text)
{
    var bytes = Encoding.UTF8.GetBytes(text);
    lock (outputGate)
    {
        output.Write(bytes);
        output.Flush();
    }
}

Emit($"OPEN pending={log.PendingFor(HintCrashHarnessOptions.Target)} truncations={log.Recovery!.Truncations} corrupt={log.Recovery.CorruptRegions}\n");

var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
{
    var random = new Random(seed * 1000 + w);
    for (var n = 0; ; n++)
    {
        var batch = Enumerable.Range(0, random.Next(1, 20))
            .Select(i => new LogRecord($"s{seed}-w{w}-n{n}-i{i}", DateTimeOffset.UtcNow, LogSeverity.Info, "checkout",
                "hinted while node-1 was down " + new string('x', random.Next(0, 300))))
            .ToList();
        await log.StoreAsync(HintCrashHarnessOptions.Target, batch, default);
        Emit("ACK " + string.Join(',', batch.Select(r => r.Id)) + "\n");
    }
})).ToList();

tasks.Add(Task.Run(async () =>
{
    var random = new Random(seed);
    while (true)
    {
        var result = await log.ReplayAsync(HintCrashHarnessOptions.Target, random.Next(1, HintCrashHarnessOptions.MaxBatch), (records, _) =>
        {
            Emit("BATCH " + string.Join(',', records.Select(r => r.Id)) + "\n");
            return Task.FromResult(true);
        });
        if (result.Delivered > 0)
            Emit("DONE\n");
        else
            await Task.Delay(1);
    }
}));

var finished = await Task.WhenAny(tasks);
Emit($"ERROR a task ended: {finished.Exception?.GetBaseException()}\n");
return 1;

/// <summary>The options the crash test uses for the child and for its own checks.</summary>
public static class HintCrashHarnessOptions
{
    public const string Target = "node-1";

    /// <summary>Replay batches hold 1 to this many records less one.</summary>
    public const int MaxBatch = 60;

    /// <summary>Small segments, so kills land in rotations and in deletions of delivered segments too.</summary>
    public static HintOptions Create() => new() { MaxSegmentBytes = 64 * 1024 };
}
