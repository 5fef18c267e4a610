using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using LogStream.Node.Diagnostics;
using LogStream.Storage;
using Microsoft.Extensions.DependencyInjection;

// Durable-append throughput: W concurrent writers append B records per call (encoded ~250 bytes each) to the store
// in fsync mode for D seconds; then, in the same run, a baseline: a plain FileStream appending the same frame bytes
// with the same fsync cadence (the records-per-fsync the store achieved), from one thread, once with fdatasync (what
// the store calls) and once with FileStream.Flush(true) (fsync).
// Usage: StorageBench [directory] [seconds] [writers] [batch sizes, comma separated] [sources]
var directory = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "logstream-storagebench");
var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var writers = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 64;
var batches = args.Length > 3 ? args[3].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [1, 16, 100];
var sources = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1;

Console.WriteLine($"StorageBench: {writers} writers, {seconds}s per run, batches [{string.Join(",", batches)}], {sources} source(s), directory {directory}");
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
var sample = MakeRecord(0, 0, 0, 1);
Console.WriteLine($"Record: encoded {LogRecordCodec.GetEncodedLength(sample)} bytes, frame {LogRecordCodec.GetEncodedLength(sample) + 8} bytes");
Console.WriteLine();
Console.WriteLine("| writers | records/append | store rec/s | records/fsync | fsyncs/s | baseline rec/s, fdatasync | store/baseline | baseline rec/s, fsync | alloc B/record (incl. building the LogRecord) |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");

foreach (var batch in batches)
{
    if (Directory.Exists(directory))
        Directory.Delete(directory, recursive: true);
    Directory.CreateDirectory(directory);
    var (rate, perFsync, fsyncRate, allocPerRecord) = await RunStoreAsync(Path.Combine(directory, "store"), writers, batch, sources, seconds);
    var cadence = Math.Max(1, (int)Math.Round(perFsync));
    var baseline = RunBaseline(Path.Combine(directory, "baseline.log"), cadence, seconds, dataOnly: true);
    var baselineFsync = RunBaseline(Path.Combine(directory, "baseline-fsync.log"), cadence, seconds, dataOnly: false);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {writers} | {batch} | {rate:N0} | {perFsync:N1} | {fsyncRate:N0} | {baseline:N0} | {rate / baseline:P0} | {baselineFsync:N0} | {allocPerRecord:N0} |"));
}
Directory.Delete(directory, recursive: true);
return 0;

static LogRecord MakeRecord(int writer, long n, int source, int sources) =>
    new($"w{writer:D2}-{n:D10}", DateTimeOffset.UtcNow, n % 100 == 0 ? LogSeverity.Error : LogSeverity.Info, $"service-{source % sources}",
        "GET /api/v1/orders/12345 completed with status 200 after 42 ms; user=alice tenant=acme region=eu-west-1 trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7 cache=miss db_calls=3 payload_bytes=18211 retry=0");

static async Task<(double Rate, double PerFsync, double FsyncRate, double AllocPerRecord)> RunStoreAsync(string path, int writers, int batch, int sources, double seconds)
{
    var meterFactory = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
    long fsyncs = 0, synced = 0;
    using var listener = new MeterListener();
    listener.InstrumentPublished = (instrument, l) =>
    {
        if (instrument.Meter.Name == StorageInstrumentNames.Meter && instrument.Meter.Scope == meterFactory)
            l.EnableMeasurementEvents(instrument);
    };
    listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
    {
        if (instrument.Name == StorageInstrumentNames.Fsyncs)
            Interlocked.Add(ref fsyncs, value);
        else if (instrument.Name == StorageInstrumentNames.RecordsPerFsync)
            Interlocked.Add(ref synced, value);
    });
    listener.Start();

    await using var store = new SegmentLogStore(path, new StorageOptions(), TimeProvider.System, new StorageMetrics(meterFactory));
    await store.OpenAsync();
    var total = 0L;
    var stop = Stopwatch.StartNew();
    var until = TimeSpan.FromSeconds(seconds);
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
    {
        var records = new LogRecord[batch];
        long n = 0, mine = 0;
        while (stop.Elapsed < until)
        {
            for (var i = 0; i < batch; i++, n++)
                records[i] = MakeRecord(w, n, (int)(n % sources), sources);
            var result = await store.AppendAsync(records);
            mine += result.Added;
        }
        Interlocked.Add(ref total, mine);
    })).ToArray();
    await Task.WhenAll(tasks);
    var elapsed = stop.Elapsed.TotalSeconds;
    var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
    return (total / elapsed, fsyncs == 0 ? 0 : (double)synced / fsyncs, fsyncs / elapsed, (double)allocated / total);
}

// dataOnly: fdatasync, the call the store makes; else FileStream.Flush(true), i.e. fsync.
static double RunBaseline(string path, int recordsPerFsync, double seconds, bool dataOnly)
{
    // The very bytes the store writes: the same encoded record in its frame.
    var record = MakeRecord(0, 0, 0, 1);
    var payload = LogRecordCodec.Encode(record);
    var frame = new byte[payload.Length + 8];
    BitConverter.TryWriteBytes(frame, payload.Length);
    payload.CopyTo(frame, 8);
    var group = new byte[frame.Length * recordsPerFsync];
    for (var i = 0; i < recordsPerFsync; i++)
        frame.CopyTo(group, i * frame.Length);

    using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
    long records = 0;
    var stop = Stopwatch.StartNew();
    var until = TimeSpan.FromSeconds(seconds);
    while (stop.Elapsed < until)
    {
        file.Write(group);
        if (dataOnly)
            FileSync.FlushData(file.SafeFileHandle);
        else
            file.Flush(flushToDisk: true);
        records += recordsPerFsync;
    }
    return records / stop.Elapsed.TotalSeconds;
}
