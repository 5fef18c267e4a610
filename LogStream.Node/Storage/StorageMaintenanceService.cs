using LogStream.Storage;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Storage;

/// <summary>
/// Opens the store before the other hosted services start (recovery runs here), runs sealing, scrubbing and
/// retention every <see cref="StorageOptions.MaintenanceInterval"/>, and flushes and closes the store at shutdown.
/// </summary>
public sealed partial class StorageMaintenanceService(
    SegmentLogStore store,
    IOptions<StorageOptions> options,
    TimeProvider timeProvider,
    ILogger<StorageMaintenanceService> logger) : BackgroundService, IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => store.OpenAsync(cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.MaintenanceInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await TickAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One maintenance pass: seal due buckets, rewrite damaged ones, drop expired ones. Never throws but for cancellation.</summary>
    public async Task<MaintenanceResult> TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await store.RunMaintenanceAsync(cancellationToken);
            if (result.Sealed + result.Dropped + result.Scrubbed > 0)
                LogTick(result.Sealed, result.Dropped, result.Scrubbed);
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogTickFailed(ex);
            return default;
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken) => await store.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage maintenance: {Sealed} buckets sealed, {Dropped} dropped by retention, {Scrubbed} rewritten after corruption")]
    private partial void LogTick(int @sealed, int dropped, int scrubbed);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage maintenance failed; retrying at the next tick")]
    private partial void LogTickFailed(Exception ex);
}
