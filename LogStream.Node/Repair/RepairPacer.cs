namespace LogStream.Node.Repair;

/// <summary>
/// Paces shipped records to a rate (on the injected clock), allowing a burst of up to one second's worth, so repair
/// never starves ingest of disk and network.
/// </summary>
public sealed class RepairPacer(int recordsPerSecond, TimeProvider timeProvider)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly long _burst = timeProvider.TimestampFrequency;
    private long _next = long.MinValue;

    public async Task AcquireAsync(int records, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = timeProvider.GetTimestamp();
            _next = Math.Max(_next, now - _burst);
            var wait = _next - now;
            _next += (long)((double)records / recordsPerSecond * timeProvider.TimestampFrequency);
            if (wait > 0)
                await timeProvider.WhenElapsed(TimeSpan.FromSeconds((double)wait / timeProvider.TimestampFrequency), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }
}
