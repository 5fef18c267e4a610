using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Attaches to .NET processes (EventPipe, the runtime's GC events at informational level), and for each prints what the
// garbage collector did while it watched: collections by generation, every pause (suspension of the runtime until it
// resumed), their total as a share of the watched time, the longest, and a histogram.
//   LogStream.GcWatch --seconds 600 PID [PID ...]
var seconds = 60.0;
var pids = new List<int>();
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--seconds" && i + 1 < args.Length)
        seconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
    else if (int.TryParse(args[i], out var pid))
        pids.Add(pid);
    else
    {
        Console.Error.WriteLine("usage: LogStream.GcWatch [--seconds S] PID [PID ...]");
        return 2;
    }
}
if (pids.Count == 0)
{
    Console.Error.WriteLine("usage: LogStream.GcWatch [--seconds S] PID [PID ...]");
    return 2;
}

var watches = pids.Select(pid => new Watch(pid)).ToList();
foreach (var watch in watches)
    watch.Start();
await Task.Delay(TimeSpan.FromSeconds(seconds));
foreach (var watch in watches)
    watch.Stop();
Console.WriteLine($"{"pid",8} {"seconds",8} {"gen0",6} {"gen1",6} {"gen2",6} {"bgc",5} {"pauses",7} {"pause_s",9} {"pause_%",8} {"max_ms",8} {"p99_ms",8} {">50ms",6} {">10ms",6} {"susp_ms",8}");
foreach (var watch in watches)
    Console.WriteLine(watch.Summary());
return 0;

internal sealed class Watch(int pid)
{
    private readonly List<double> _pauses = [];
    private readonly List<double> _suspensions = [];
    private readonly List<string> _longest = [];
    private readonly int[] _generations = new int[3];
    private int _background;
    private double _suspendStart = -1;
    private double _suspended = -1;
    private int _lastDepth = -1;
    private string _lastType = "";
    private EventPipeSession? _session;
    private Task? _reader;
    private readonly Stopwatch _clock = new();

    public void Start()
    {
        var client = new DiagnosticsClient(pid);
        var keywords = (long)ClrTraceEventParser.Keywords.GC;
        _session = client.StartEventPipeSession(new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, keywords), requestRundown: false);
        _clock.Start();
        _reader = Task.Run(() =>
        {
            using var source = new EventPipeEventSource(_session.EventStream);
            source.Clr.GCSuspendEEStart += e =>
            {
                _suspendStart = e.TimeStampRelativeMSec;
                _suspended = -1;
                _lastDepth = -1;
            };
            source.Clr.GCSuspendEEStop += e => _suspended = e.TimeStampRelativeMSec;
            source.Clr.GCRestartEEStop += e =>
            {
                if (_suspendStart >= 0)
                {
                    var pause = e.TimeStampRelativeMSec - _suspendStart;
                    var suspension = _suspended >= 0 ? _suspended - _suspendStart : 0;
                    lock (_pauses)
                    {
                        _pauses.Add(pause);
                        _suspensions.Add(suspension);
                        if (pause > 50)
                            _longest.Add(string.Create(CultureInfo.InvariantCulture, $"{pause:F0} ms (suspending {suspension:F0} ms, gen{_lastDepth} {_lastType}) at {e.TimeStampRelativeMSec / 1000:F0} s"));
                    }
                }
                _suspendStart = -1;
            };
            source.Clr.GCStart += e =>
            {
                _lastDepth = e.Depth;
                _lastType = e.Type.ToString();
                if (e.Type == GCType.BackgroundGC)
                    Interlocked.Increment(ref _background);
                if (e.Depth is >= 0 and <= 2)
                    Interlocked.Increment(ref _generations[e.Depth]);
            };
            try
            {
                source.Process();
            }
            catch (Exception ex) when (ex is EndOfStreamException or IOException)
            {
                // The process ended or the session stopped.
            }
        });
    }

    public void Stop()
    {
        _clock.Stop();
        try
        {
            _session?.Stop();
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or EndOfStreamException or IOException)
        {
        }
        _reader?.Wait(TimeSpan.FromSeconds(10));
    }

    public string Summary()
    {
        double[] pauses;
        lock (_pauses)
            pauses = [.. _pauses];
        Array.Sort(pauses);
        var total = pauses.Sum() / 1000;
        var watched = _clock.Elapsed.TotalSeconds;
        var p99 = pauses.Length == 0 ? 0 : pauses[Math.Min(pauses.Length - 1, (int)(pauses.Length * 0.99))];
        var max = pauses.Length == 0 ? 0 : pauses[^1];
        double maxSuspension;
        string[] longest;
        lock (_pauses)
        {
            maxSuspension = _suspensions.Count == 0 ? 0 : _suspensions.Max();
            longest = [.. _longest];
        }
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{pid,8} {watched,8:F0} {_generations[0],6} {_generations[1],6} {_generations[2],6} {_background,5} {pauses.Length,7} {total,9:F3} {100 * total / watched,8:F3} {max,8:F1} {p99,8:F1} {pauses.Count(p => p > 50),6} {pauses.Count(p => p > 10),6} {maxSuspension,8:F1}");
        return longest.Length == 0 ? line : line + Environment.NewLine + string.Join(Environment.NewLine, longest.Select(l => "           pause over 50 ms: " + l));
    }
}
