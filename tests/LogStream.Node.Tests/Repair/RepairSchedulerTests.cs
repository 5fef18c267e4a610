using LogStream.Node.Repair;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Tests.Repair;

public sealed class RepairSchedulerTests
{
    private static RepairScheduler Scheduler(int nice) =>
        new(Options.Create(new RepairOptions { Nice = nice, MaxConcurrentBuckets = 2 }), NullLogger<RepairScheduler>.Instance);

    /// <summary>The nice value of the calling thread, from /proc (Linux).</summary>
    private static int CurrentThreadNice()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        // Fields after the command name (which is in parentheses and may hold spaces); nice is field 19.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3]);
    }

    [Fact]
    public async Task WorkAndItsContinuationsRunOnTheRepairThreads()
    {
        using var scheduler = Scheduler(nice: 0);
        var names = await scheduler.RunAsync(async () =>
        {
            var before = Thread.CurrentThread.Name;
            await Task.Delay(10);
            await Task.Yield();
            return (before, after: Thread.CurrentThread.Name);
        }, CancellationToken.None);

        Assert.StartsWith("logstream-repair-", names.before);
        Assert.StartsWith("logstream-repair-", names.after);
    }

    [Fact]
    public async Task AContinuationDueAfterDisposalRunsOnThePoolInsteadOfFaulting()
    {
        var scheduler = Scheduler(nice: 0);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = scheduler.RunAsync(async () =>
        {
            started.SetResult();
            await release.Task;
            return Thread.CurrentThread.Name ?? "";
        }, CancellationToken.None);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        scheduler.Dispose();
        release.SetResult();

        Assert.DoesNotContain("logstream-repair-", await work.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [SkippableFact]
    public async Task RepairThreadsRunTheConfiguredNiceLevelsLower()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "per-thread nice values are a Linux feature");
        using var scheduler = Scheduler(nice: 10);
        var baseline = CurrentThreadNice();

        var repair = await scheduler.RunAsync(CurrentThreadNice, CancellationToken.None);

        Assert.Equal(Math.Min(19, baseline + 10), repair);
    }

    [SkippableFact]
    public async Task NiceZeroLeavesThePriorityAlone()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "per-thread nice values are a Linux feature");
        using var scheduler = Scheduler(nice: 0);
        Assert.Equal(CurrentThreadNice(), await scheduler.RunAsync(CurrentThreadNice, CancellationToken.None));
    }
}
