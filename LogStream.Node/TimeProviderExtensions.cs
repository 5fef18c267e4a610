namespace LogStream.Node;

public static class TimeProviderExtensions
{
    /// <summary>A task that completes after <paramref name="delay"/> on <paramref name="timeProvider"/>'s clock (a fake clock in tests).</summary>
    public static Task WhenElapsed(this TimeProvider timeProvider, TimeSpan delay, CancellationToken cancellationToken)
    {
        var elapsed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = timeProvider.CreateTimer(static state => ((TaskCompletionSource)state!).TrySetResult(), elapsed, delay, Timeout.InfiniteTimeSpan);
        var registration = cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetCanceled(), elapsed);
        _ = elapsed.Task.ContinueWith(_ =>
        {
            timer.Dispose();
            registration.Dispose();
        }, TaskScheduler.Default);
        return elapsed.Task;
    }
}
