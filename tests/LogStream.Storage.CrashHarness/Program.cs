using System.Text;
using LogStream.Storage;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;

// Child process of the crash test: opens the store (recovery), then appends concurrently until killed, printing
// "ACK <id>" for every record whose append returned (i.e. is durable). It also re-appends records that are already
// stored (they must come back AlreadyPresent) and seals past buckets while writing, so a kill can land in a rewrite.
// Usage: CrashHarness <data directory> <writers> <seed>
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: CrashHarness <data directory> <writers> <seed>");
    return 2;
}

var directory = args[0];
var writers = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var seed = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
var options = CrashHarnessOptions.Create();
var meterFactory = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
var store = new SegmentLogStore(directory, options, TimeProvider.System, new StorageMetrics(meterFactory));
await store.OpenAsync();

var existing = new List<LogRecord>();
foreach (var bucket in store.ListBuckets())
{
    await foreach (var record in store.ReadBucketAsync(bucket.Key))
    {
        existing.Add(record);
        if (existing.Count >= 200)
            break;
    }
}

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

Emit($"OPEN records={store.Recovery!.Records} truncations={store.Recovery.Truncations} corrupt={store.Recovery.CorruptRegions}\n");

var sealing = Task.Run(async () =>
{
    while (true)
    {
        await store.RunMaintenanceAsync();
        await Task.Delay(Random.Shared.Next(5, 60));
    }
});

var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
{
    var random = new Random(seed * 1000 + w);
    var levels = Enum.GetValues<LogSeverity>();
    for (var n = 0; ; n++)
    {
        var batch = new List<LogRecord>();
        var size = random.Next(1, 24);
        for (var i = 0; i < size; i++)
        {
            if (existing.Count > 0 && random.Next(10) == 0)
            {
                batch.Add(existing[random.Next(existing.Count)]);
                continue;
            }
            var timestamp = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(random.Next(0, 300));
            batch.Add(new LogRecord($"s{seed}-w{w}-n{n}-i{i}", timestamp, levels[random.Next(levels.Length)], $"svc-{random.Next(3)}",
                $"message {n}/{i} from writer {w} " + new string('x', random.Next(0, 200))));
        }
        var result = await store.AppendAsync(batch);
        var text = new StringBuilder();
        for (var i = 0; i < batch.Count; i++)
        {
            if (result.Statuses[i] == AppendStatus.Expired)
                text.Append("ERROR expired ").Append(batch[i].Id).Append('\n');
            else
                text.Append("ACK ").Append(batch[i].Id).Append('\n');
            if (existing.Contains(batch[i]) && result.Statuses[i] != AppendStatus.AlreadyPresent)
                text.Append("ERROR re-append of a stored record was not AlreadyPresent: ").Append(batch[i].Id).Append('\n');
        }
        Emit(text.ToString());
    }
})).ToList();

var finished = await Task.WhenAny([.. tasks, sealing]);
Emit($"ERROR a task ended: {finished.Exception?.GetBaseException()}\n");
return 1;

/// <summary>The options the crash test uses for the child and for its own verification.</summary>
public static class CrashHarnessOptions
{
    public static StorageOptions Create() => new()
    {
        BucketWidth = TimeSpan.FromMinutes(1),
        SealGrace = TimeSpan.Zero,
        Retention = TimeSpan.FromDays(7),
        SealedBlockBytes = 4096,
        MaxSegmentBytes = 1024 * 1024,
    };
}
