using LogStream.Testing;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LogStream.Node.Diagnostics;
using LogStream.Node.Membership;
using LogStream.Node.Replication.Hints;
using LogStream.Storage;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Hints.Tests;

/// <summary>A fresh folder per test, deleted afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "logstream-hints-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}


public static class Records
{
    public static readonly DateTimeOffset Epoch = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    public static LogRecord Make(string id, DateTimeOffset? timestamp = null, string message = "hello") =>
        new(id, timestamp ?? Epoch, LogSeverity.Info, "checkout", message, [new("region", "eu-west-1")]);

    public static List<LogRecord> Many(string prefix, int count, int messageBytes = 40) =>
        [.. Enumerable.Range(0, count).Select(i => Make($"{prefix}-{i:D6}", Epoch.AddMilliseconds(i), new string('m', messageBytes)))];
}

/// <summary>
/// A hint log on a temp folder with a fake clock, reopened at will as after a restart; metrics collected per log.
/// </summary>
public sealed class HintLogHarness : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();

    public HintLogHarness(HintOptions? options = null)
    {
        Options = options ?? new HintOptions();
        Time = new FakeTimeProvider(Records.Epoch);
        Metrics = new HintMetrics(MeterFactory);
        Log = NewLog();
    }

    public HintOptions Options { get; }

    public FakeTimeProvider Time { get; }

    public TestMeterFactory MeterFactory { get; } = new();

    public HintLog Log { get; private set; }

    /// <summary>One set of instruments for every log the harness opens, as in one process.</summary>
    public HintMetrics Metrics { get; }

    public string Directory => _directory.Path;

    public string TargetDirectory(string target) => Path.Combine(Directory, target);

    public string[] Segments(string target) =>
        System.IO.Directory.Exists(TargetDirectory(target))
            ? [.. System.IO.Directory.GetFiles(TargetDirectory(target), "*.hints").Order(StringComparer.Ordinal)]
            : [];

    public MetricCollector<long> Collect(string instrument) => new(MeterFactory, InstrumentNames.HintsMeter, instrument);

    /// <summary>Closes the log and opens a new one on the same folder (a clean restart).</summary>
    public async Task<HintLog> RestartAsync()
    {
        await Log.DisposeAsync();
        Log = NewLog();
        await Log.OpenAsync();
        return Log;
    }

    /// <summary>Abandons the log without closing it (as a crash would), then opens a new one on <paramref name="directory"/>.</summary>
    public async Task<HintLog> OpenCopyAsync(string directory)
    {
        var log = new HintLog(directory, Options, Time, Metrics);
        await log.OpenAsync();
        return log;
    }

    private HintLog NewLog() => new(_directory.Path, Options, Time, Metrics);

    public async ValueTask DisposeAsync()
    {
        await Log.DisposeAsync();
        MeterFactory.Dispose();
        _directory.Dispose();
    }
}

/// <summary>An <see cref="IHintDelivery"/> that records what it got, and fails on request.</summary>
public sealed class RecordingDelivery : IHintDelivery
{
    public ConcurrentQueue<(string Target, LogRecord[] Records)> Batches { get; } = new();

    /// <summary>Decides each call: true delivers, false refuses; null (default) delivers.</summary>
    public Func<string, IReadOnlyList<LogRecord>, bool>? Accept { get; set; }

    public Exception? Throw { get; set; }

    public IEnumerable<LogRecord> Delivered(string target) => Batches.Where(b => b.Target == target).SelectMany(b => b.Records);

    public Task<bool> DeliverAsync(string targetNodeId, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken)
    {
        if (Throw is { } error)
            throw error;
        if (Accept is { } accept && !accept(targetNodeId, records))
            return Task.FromResult(false);
        Batches.Enqueue((targetNodeId, [.. records]));
        return Task.FromResult(true);
    }
}

public static class Members
{
    /// <summary>A view in which each given member has the given state.</summary>
    public static MembershipView With(FakeTimeProvider time, params (string Id, MemberState State)[] members)
    {
        var view = new MembershipView();
        Publish(view, time, members);
        return view;
    }

    public static void Publish(MembershipView view, FakeTimeProvider time, params (string Id, MemberState State)[] members)
    {
        var now = time.GetUtcNow();
        var options = new MembershipOptions();
        var rows = members.Select(m => new MemberRow
        {
            Id = m.Id,
            Address = $"http://{m.Id}:5100",
            Status = m.State switch { MemberState.Down => MemberStatus.Stopped, MemberState.Leaving => MemberStatus.Leaving, _ => MemberStatus.Alive },
            HeartbeatAt = m.State == MemberState.Suspect ? now - options.SuspectAfter : now,
        });
        view.Publish(new MembershipState(MembershipSnapshot.Create(rows, now, options), true, now, null));
    }
}
