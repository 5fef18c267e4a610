using Microsoft.Extensions.Options;

namespace LogStream.Node.Repair;

/// <summary>Runs an anti-entropy round every <see cref="RepairOptions.Interval"/> (jittered) in the background.</summary>
public sealed partial class AntiEntropyService(
    AntiEntropy antiEntropy,
    IOptions<RepairOptions> options,
    TimeProvider timeProvider,
    ILogger<AntiEntropyService> logger) : BackgroundService
{
    private readonly RepairOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
            return;
        using var timer = new PeriodicTimer(NextPeriod(), timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await TickAsync(stoppingToken);
            timer.Period = NextPeriod();
        }
    }

    /// <summary>One background round; failures are logged, never fatal.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var round = await antiEntropy.RunRoundAsync(cancellationToken);
            if (round.BucketsDiffering > 0)
                LogRound(round.BucketsCompared, round.BucketsDiffering, round.RecordsSent, round.RecordsReceived, round.RepairsCompleted, round.Duration.TotalMilliseconds);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogRoundFailed(ex);
        }
    }

    // Interval ± jitter, so that nodes started together do not repair in lockstep.
    private TimeSpan NextPeriod() =>
        _options.Interval * (1 + _options.Jitter * (2 * Random.Shared.NextDouble() - 1));

    [LoggerMessage(Level = LogLevel.Information, Message = "Anti-entropy round: {Compared} buckets compared, {Differing} differed; sent {Sent}, received {Received} records; {Completed} repairs completed in {Milliseconds:0} ms")]
    private partial void LogRound(int compared, int differing, long sent, long received, int completed, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Anti-entropy round failed")]
    private partial void LogRoundFailed(Exception ex);
}
