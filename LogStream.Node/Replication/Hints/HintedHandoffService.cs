using LogStream.Node.Membership;
using LogStream.Storage;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Replication.Hints;

/// <summary>
/// Opens the hint log before the other hosted services start, and every <see cref="HintOptions.ReplayInterval"/>
/// expires old hints and replays pending ones to every target the membership view shows <c>Up</c>, through
/// <see cref="IHintDelivery"/>, in batches of <see cref="HintOptions.ReplayBatchRecords"/>, throttled per target to
/// <see cref="HintOptions.ReplayRecordsPerSecond"/> by a token bucket over the injected clock. A target's replay stops
/// at its first failed delivery and resumes at a later tick.
/// </summary>
public sealed partial class HintedHandoffService : BackgroundService, IHostedLifecycleService
{
    private readonly HintLog _log;
    private readonly IHintDelivery? _delivery;
    private readonly MembershipView _membership;
    private readonly HintOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<HintedHandoffService> _logger;
    private readonly long _started;
    private readonly Dictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _tickGate = new(1, 1);

    /// <param name="delivery">The replica client; when none is registered hints are kept (and expire) but not replayed.</param>
    public HintedHandoffService(HintLog log, MembershipView membership, IOptions<HintOptions> options, TimeProvider timeProvider,
        ILogger<HintedHandoffService> logger, IHintDelivery? delivery = null)
    {
        _log = log;
        _delivery = delivery;
        _membership = membership;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _started = timeProvider.GetTimestamp();
    }

    public Task StartingAsync(CancellationToken cancellationToken) => _log.OpenAsync(cancellationToken);

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken) => await _log.DisposeAsync();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Runs even with hints disabled: hints stored before they were disabled still expire.
        using var timer = new PeriodicTimer(_options.ReplayInterval, _timeProvider);
        if (_delivery is null && _options.Enabled)
            LogNoDelivery();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await ReplayOnceAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// One tick: expire, then replay to every pending target that is up (targets in parallel, each through its own
    /// token bucket). Never throws but for cancellation.
    /// </summary>
    public async Task<HintReplayPass> ReplayOnceAsync(CancellationToken cancellationToken)
    {
        await _tickGate.WaitAsync(cancellationToken);
        try
        {
            long expired = 0;
            try
            {
                expired = await _log.ExpireAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogExpiryFailed(ex);
            }

            if (_delivery is null || !_options.Enabled)
                return new HintReplayPass(0, expired, []);

            var snapshot = _membership.Snapshot;
            var now = _timeProvider.GetTimestamp();
            var replays = new List<Task<TargetPass>>();
            foreach (var target in _log.Pending.Keys)
            {
                if (snapshot.Find(target)?.State != MemberState.Up)
                    continue;
                if (!_buckets.TryGetValue(target, out var bucket))
                    _buckets[target] = bucket = new TokenBucket(_started);
                bucket.Refill(now, _timeProvider, _options);
                replays.Add(ReplayTargetAsync(target, bucket, _delivery, cancellationToken));
            }
            var results = await Task.WhenAll(replays);
            return new HintReplayPass(
                results.Sum(r => r.Delivered),
                expired + results.Sum(r => r.Expired),
                [.. results.Where(r => r.Failed).Select(r => r.Target)]);
        }
        finally
        {
            _tickGate.Release();
        }
    }

    private async Task<TargetPass> ReplayTargetAsync(string target, TokenBucket bucket, IHintDelivery delivery, CancellationToken cancellationToken)
    {
        long delivered = 0, expired = 0;
        Func<IReadOnlyList<LogRecord>, CancellationToken, Task<bool>> deliver = (records, ct) => delivery.DeliverAsync(target, records, ct);
        try
        {
            while (true)
            {
                var allowance = (int)Math.Min(_options.ReplayBatchRecords, Math.Floor(bucket.Tokens));
                if (allowance <= 0)
                    break;
                var result = await _log.ReplayAsync(target, allowance, deliver, cancellationToken);
                bucket.Tokens -= result.Delivered;
                delivered += result.Delivered;
                expired += result.Expired;
                if (result.Failed)
                {
                    LogDeliveryFailed(target, result.Pending, result.Error);
                    return new TargetPass(target, delivered, expired, true);
                }
                if (result.Pending == 0)
                {
                    if (delivered > 0)
                        LogCaughtUp(target, delivered);
                    break;
                }
                if (result.Delivered == 0)
                    break;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReplayFailed(target, ex);
            return new TargetPass(target, delivered, expired, true);
        }
        if (delivered > 0)
            LogReplayed(delivered, target, _log.PendingFor(target));
        return new TargetPass(target, delivered, expired, false);
    }

    private readonly record struct TargetPass(string Target, long Delivered, long Expired, bool Failed);

    /// <summary>
    /// Records a target may still receive. Filled at each tick by the rate times the time since the last fill, never
    /// beyond one interval's worth; it starts empty when the service starts, so from then on a target never gets more
    /// than the rate times the elapsed time.
    /// </summary>
    private sealed class TokenBucket(long lastFill)
    {
        public double Tokens;

        public void Refill(long now, TimeProvider timeProvider, HintOptions options)
        {
            var elapsed = timeProvider.GetElapsedTime(lastFill, now);
            lastFill = now;
            var capacity = Math.Max(1, options.ReplayRecordsPerSecond * options.ReplayInterval.TotalSeconds);
            Tokens = Math.Min(capacity, Tokens + options.ReplayRecordsPerSecond * elapsed.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No IHintDelivery is registered: hints are stored and expire, but are not replayed")]
    private partial void LogNoDelivery();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Replayed {Records} hints to {Target}; {Pending} still pending")]
    private partial void LogReplayed(long records, string target, long pending);

    [LoggerMessage(Level = LogLevel.Information, Message = "Hints for {Target} delivered ({Records} in the last pass); none pending")]
    private partial void LogCaughtUp(string target, long records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replaying hints to {Target} failed; {Pending} kept for a later try")]
    private partial void LogDeliveryFailed(string target, long pending, Exception? ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replaying hints to {Target} failed in the hint log; retrying at the next tick")]
    private partial void LogReplayFailed(string target, Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hint expiry failed; retrying at the next tick")]
    private partial void LogExpiryFailed(Exception ex);
}

/// <summary>What one <see cref="HintedHandoffService.ReplayOnceAsync"/> tick did.</summary>
/// <param name="Delivered">Records delivered, over all targets.</param>
/// <param name="Expired">Records dropped by expiry.</param>
/// <param name="FailedTargets">Targets whose replay stopped at a failed delivery.</param>
public sealed record HintReplayPass(long Delivered, long Expired, IReadOnlyList<string> FailedTargets);
