using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Membership;

/// <summary>
/// Keeps this node in the member table and the <see cref="MembershipView"/> fresh: registers with a new
/// incarnation at start, heartbeats every <see cref="MembershipOptions.HeartbeatInterval"/>, re-reads the
/// table on every tick and at once when a join/leave is announced, and declares itself stopped on
/// graceful shutdown. When the store is unreachable it keeps the last snapshot and reports degraded.
/// </summary>
public sealed partial class MembershipAgent(
    IMembershipStore store,
    MembershipView view,
    IZoneResolver zoneResolver,
    IOptions<NodeOptions> nodeOptions,
    IOptions<MembershipOptions> membershipOptions,
    IServer server,
    IConfiguration configuration,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    MembershipMetrics metrics,
    ILogger<MembershipAgent> logger) : BackgroundService, IHostedLifecycleService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly MembershipOptions _options = membershipOptions.Value;
    private readonly string _selfId = nodeOptions.Value.NodeId;
    private MemberRow? _own;
    private (string Public, string? Internal)? _addresses;
    private string? _zone;
    private bool _zoneResolved;
    private IAsyncDisposable? _subscription;
    private volatile bool _stopping;
    private bool _storeDown;

    /// <summary>This node's row as last written, or null before the first successful registration.</summary>
    public MemberRow? OwnRow => Volatile.Read(ref _own);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The advertised address is only known once the server listens.
        await WaitForServerStartedAsync(stoppingToken);

        using var timer = new PeriodicTimer(_options.HeartbeatInterval, timeProvider);
        do
        {
            await TickAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One heartbeat: register or heartbeat the own row, make sure announcements arrive, re-read the table.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        if (_stopping)
            return;

        await _gate.WaitAsync(cancellationToken);
        try
        {
            // The zone lookup (a Kubernetes API call in a pod) has its own timeout; it must not eat the store's.
            if (!_zoneResolved)
            {
                _zone = await zoneResolver.ResolveZoneAsync(cancellationToken);
                _zoneResolved = true;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.StoreTimeout);
            await WriteOwnRowAsync(timeout.Token);
            await EnsureSubscribedAsync(timeout.Token);
            await RefreshCoreAsync(timeout.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            MarkUnreachable(ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Re-reads the member table now (used when another member announces a change).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.StoreTimeout);
            await RefreshCoreAsync(timeout.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            MarkUnreachable(ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task WriteOwnRowAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (_own is null)
        {
            await RegisterAsync(now, cancellationToken);
            return;
        }

        var next = _own with { HeartbeatAt = now, Status = MemberStatus.Alive };
        if (await store.TryWriteAsync(next, _own.Version, cancellationToken))
        {
            Volatile.Write(ref _own, next with { Version = _own.Version + 1 });
            metrics.HeartbeatWritten();
            return;
        }

        // An earlier write of ours that timed out here may still have landed in Redis: then the stored row is ours
        // (same incarnation and address) one version on. Adopt it and heartbeat again, rather than re-registering.
        var stored = await store.ReadAsync(_selfId, cancellationToken);
        if (stored is not null && stored.Incarnation == _own.Incarnation && stored.Address == _own.Address
            && stored.InternalAddress == _own.InternalAddress && stored.Version > _own.Version)
        {
            Volatile.Write(ref _own, stored);
            if (await store.TryWriteAsync(next, stored.Version, cancellationToken))
            {
                Volatile.Write(ref _own, next with { Version = stored.Version + 1 });
                metrics.HeartbeatWritten();
                return;
            }
        }

        // Someone else wrote our row (an operator, a restarted Redis that lost it, or a duplicate process
        // with our id). Register again with a higher incarnation, loudly.
        LogOwnRowConflict(_selfId, _own.Version);
        Volatile.Write(ref _own, null);
        await RegisterAsync(now, cancellationToken);
    }

    private async Task RegisterAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var existing = await store.ReadAsync(_selfId, cancellationToken);
        var (address, internalAddress) = _addresses ??= ResolveAddresses();
        var row = new MemberRow
        {
            Id = _selfId,
            Address = address,
            InternalAddress = internalAddress,
            Zone = _zone,
            Incarnation = (existing?.Incarnation ?? 0) + 1,
            Status = MemberStatus.Alive,
            HeartbeatAt = now,
        };
        var expected = existing?.Version ?? 0;
        if (!await store.TryWriteAsync(row, expected, cancellationToken))
            throw new InvalidOperationException($"Member row '{_selfId}' changed while registering; retrying at the next heartbeat.");

        Volatile.Write(ref _own, row with { Version = expected + 1 });
        metrics.HeartbeatWritten();
        LogRegistered(_selfId, row.Address, row.Zone ?? "(none)", row.Incarnation);
        await store.PublishAsync(new MembershipEvent(MembershipEventKind.Joined, _selfId, row.Incarnation), cancellationToken);
    }

    private async Task EnsureSubscribedAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
            return;
        _subscription = await store.SubscribeAsync(OnMembershipEvent, cancellationToken);
    }

    private void OnMembershipEvent(MembershipEvent membershipEvent)
    {
        if (membershipEvent.MemberId == _selfId || _stopping)
            return;
        LogEventReceived(membershipEvent.Kind, membershipEvent.MemberId, membershipEvent.Incarnation);
        _ = RefreshAsync(CancellationToken.None);
    }

    private async Task RefreshCoreAsync(CancellationToken cancellationToken)
    {
        var rows = await store.ReadAllAsync(cancellationToken);
        var now = timeProvider.GetUtcNow();
        var snapshot = MembershipSnapshot.Create(rows, now, _options);
        view.Publish(new MembershipState(snapshot, StoreReachable: true, LastContact: now, LastError: null));
        if (_storeDown)
        {
            _storeDown = false;
            LogStoreRecovered(_selfId);
        }
    }

    private void MarkUnreachable(Exception ex)
    {
        metrics.StoreFailure();
        if (!_storeDown)
        {
            _storeDown = true;
            LogStoreUnreachable(ex, _selfId, ex.Message);
        }
        view.Publish(view.Current with { StoreReachable = false, LastError = ex.Message });
    }

    private async Task WaitForServerStartedAsync(CancellationToken stoppingToken)
    {
        if (lifetime.ApplicationStarted.IsCancellationRequested)
            return;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
    }

    private (string Public, string? Internal) ResolveAddresses()
    {
        var listening = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        return NodeAddresses.Resolve(nodeOptions.Value, configuration, listening);
    }

    // Graceful leave: announce before the server drains, so peers stop routing to us at once.
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_own is null)
                return;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.StoreTimeout);
            var stopped = _own with { Status = MemberStatus.Stopped, HeartbeatAt = timeProvider.GetUtcNow() };
            if (await store.TryWriteAsync(stopped, _own.Version, timeout.Token))
            {
                Volatile.Write(ref _own, stopped with { Version = _own.Version + 1 });
                await store.PublishAsync(new MembershipEvent(MembershipEventKind.Left, _selfId, stopped.Incarnation), timeout.Token);
                LogLeft(_selfId);
            }
        }
        catch (Exception ex)
        {
            // Peers will still see us down once the heartbeat ages past the suspicion timeout.
            LogLeaveFailed(ex, _selfId);
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_subscription is not null)
            await _subscription.DisposeAsync();
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} registered at {Address} (zone {Zone}, incarnation {Incarnation})")]
    private partial void LogRegistered(string nodeId, string address, string zone, long incarnation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId}: its member row changed under it (expected version {Version}); registering again")]
    private partial void LogOwnRowConflict(string nodeId, long version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Membership event {Kind} from {MemberId} (incarnation {Incarnation})")]
    private partial void LogEventReceived(MembershipEventKind kind, string memberId, long incarnation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId}: membership store unreachable ({Reason}); serving with the last known cluster view (degraded)")]
    private partial void LogStoreUnreachable(Exception ex, string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId}: membership store reachable again")]
    private partial void LogStoreRecovered(string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} left the cluster gracefully (stays in the ring)")]
    private partial void LogLeft(string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} could not announce its leave")]
    private partial void LogLeaveFailed(Exception ex, string nodeId);
}
