using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Repair;

/// <summary>
/// Where anti-entropy does its CPU work (digest indexes, reading the records to ship, both for its own rounds and for
/// a peer's): a few dedicated threads at a lower operating-system priority, so that on a busy node the CPU goes to
/// ingest and queries first and repair takes what is left, while on an idle node repair runs at full speed. This is
/// how Cassandra runs compaction (lower thread priority) and ScyllaDB runs streaming and repair (a scheduling group
/// with fewer shares). On Linux the threads run <see cref="RepairOptions.Nice"/> nice levels below the node's others.
/// Not lower: under <c>SCHED_IDLE</c> a round took 20 s instead of ~10 s under load and ingest gained nothing (see
/// docs/performance.md).
/// </summary>
public sealed partial class RepairScheduler : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> _queue = [];
    private readonly Thread[] _threads;
    private readonly int _nice;
    private readonly ILogger<RepairScheduler> _logger;

    [ThreadStatic]
    private static RepairScheduler? s_current;

    public RepairScheduler(IOptions<RepairOptions> options, ILogger<RepairScheduler> logger)
    {
        _nice = options.Value.Nice;
        _logger = logger;
        _threads = new Thread[options.Value.MaxConcurrentBuckets];
        for (var i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"logstream-repair-{i}" };
            _threads[i].Start();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Runs <paramref name="work"/> and its continuations on the repair threads.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    /// <summary>Runs <paramref name="work"/> on the repair threads.</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.DenyChildAttach, this);

    protected override void QueueTask(Task task)
    {
        try
        {
            _queue.Add(task);
        }
        catch (InvalidOperationException)
        {
            // Disposed (the node is stopping): a continuation still due runs on the pool rather than faulting the
            // thread that completed what it awaited.
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Scheduler.TryExecuteTask(state.Task), (Scheduler: this, Task: task), preferLocal: false);
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        s_current == this && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

    public void Dispose() => _queue.CompleteAdding();

    private void Work()
    {
        s_current = this;
        LowerPriority();
        foreach (var task in _queue.GetConsumingEnumerable())
            TryExecuteTask(task);
    }

    private void LowerPriority()
    {
        if (_nice == 0)
            return;
        if (OperatingSystem.IsLinux())
        {
            // PRIO_PROCESS with a thread id applies to that thread alone; raising one's own nice value needs no
            // privilege. Relative to what the thread inherited, so a node started with nice keeps the difference.
            var thread = GetThreadId();
            Marshal.SetLastPInvokeError(0);
            var inherited = GetPriority(PrioProcess, thread);
            if (inherited == -1 && Marshal.GetLastPInvokeError() != 0 || SetPriority(PrioProcess, thread, Math.Min(19, inherited + _nice)) != 0)
                LogPriorityFailed(_nice, Marshal.GetLastPInvokeError());
        }
        else
        {
            Thread.CurrentThread.Priority = ThreadPriority.BelowNormal;
        }
    }

    private const int PrioProcess = 0;

    [DllImport("libc", EntryPoint = "getpriority", SetLastError = true)]
    private static extern int GetPriority(int which, int who);

    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, int who, int priority);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not lower the repair threads' priority by {Nice} nice levels (errno {Errno}); repair runs at normal priority")]
    private partial void LogPriorityFailed(int nice, int errno);
}
