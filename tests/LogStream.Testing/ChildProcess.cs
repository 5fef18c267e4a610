using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LogStream.Testing;

/// <summary>A real child process with its output kept for diagnostics, stopped by SIGTERM or SIGKILL.</summary>
public class ChildProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _watchers = [];
    private readonly Process _process;

    public ChildProcess(string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Name = Path.GetFileName(fileName);
    }

    public string Name { get; init; }

    public int Id => _process.Id;

    private bool _disposed;

    public bool HasExited => _disposed || _process.HasExited;

    public int? ExitCode => !_disposed && _process.HasExited ? _process.ExitCode : null;

    /// <summary>The last lines the process printed (stdout and stderr).</summary>
    public string RecentOutput(int lines = 60) => string.Join(Environment.NewLine, _output.TakeLast(lines));

    /// <summary>Waits for a printed line that matches, bounded.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_watchers)
        {
            var existing = _output.FirstOrDefault(match);
            if (existing is not null)
                return existing;
            _watchers.Add((match, found));
        }
        var exited = _process.WaitForExitAsync();
        var winner = await Task.WhenAny(found.Task, exited, Task.Delay(timeout));
        if (winner == found.Task)
            return await found.Task;
        var why = winner == exited ? $"{Name} exited with code {_process.ExitCode}" : $"timed out after {timeout.TotalSeconds:0.#} s";
        throw new TimeoutException($"{why} while waiting for {what}. Output:{Environment.NewLine}{RecentOutput()}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds:0.#} s. Output:{Environment.NewLine}{RecentOutput()}");
        }
        return _process.ExitCode;
    }

    /// <summary>Graceful stop (SIGTERM), then SIGKILL if it does not exit in time.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (HasExited)
            return;
        _ = kill(_process.Id, SIGTERM);
        using var cts = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, as in a crash or power loss.</summary>
    public void Kill()
    {
        if (HasExited)
            return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(TimeSpan.FromSeconds(10));
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        await StopAsync(TimeSpan.FromSeconds(5));
        _disposed = true;
        _process.Dispose();
        GC.SuppressFinalize(this);
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        _output.Enqueue(line);
        while (_output.Count > 2000 && _output.TryDequeue(out _))
        {
        }
        lock (_watchers)
        {
            for (var i = _watchers.Count - 1; i >= 0; i--)
            {
                if (_watchers[i].Match(line))
                {
                    _watchers[i].Found.TrySetResult(line);
                    _watchers.RemoveAt(i);
                }
            }
        }
    }

    private const int SIGTERM = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
