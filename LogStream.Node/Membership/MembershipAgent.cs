using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Membership;

/// <summary>
/// Keeps this node in the member table and the <see cref="MembershipView"/> fresh: registers with a new
/// incarnation at start, heartbeats every <see cref="MembershipOptions.HeartbeatInterval"/>, re-reads the
/// table on every tick and at once when a join/leave is announced, and declares itself stopped on
/// graceful shutdown. When the store is unreachable it keeps the last snapshot and reports degraded. Every member it
/// has seen is remembered in the data directory (<see cref="RememberedMembersFile"/>) and stays in the view, down, when
/// the store stops listing it.
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
    private readonly RememberedMembersFile _rememberedFile = new(nodeOptions.Value.DataDirectory);
    private MemberRow? _own;
    private (string Public, string? Internal)? _addresses;
    private string? _zone;
    private bool _zoneResolved;
    private IAsyncDisposable? _subscription;
    private volatile bool _stopping;
    private bool _storeDown;
    private Dictionary<string, RememberedMember>? _remembered;
    private List<RememberedMember> _saved = [];

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

        // Outside the store's error handling: an unreadable file must stop the node, not read as "store unreachable".
        LoadRemembered();
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
        var remembered = Remember(rows);
        var snapshot = MembershipSnapshot.Create(rows, remembered, now, _options);
        view.Publish(new MembershipState(snapshot, StoreReachable: true, LastContact: now, LastError: null));
        if (_storeDown)
        {
            _storeDown = false;
            LogStoreRecovered(_selfId);
        }
    }

    /// <summary>Reads the remembered members once (at start); a file that cannot be read throws <see cref="InvalidDataException"/>.</summary>
    private void LoadRemembered()
    {
        if (Volatile.Read(ref _remembered) is not null)
            return;
        var (cluster, members) = _rememberedFile.Load();
        var clusterName = nodeOptions.Value.ClusterName;
        if (cluster is not null && cluster != clusterName)
        {
            // Another cluster's members (the data directory was reused under a new cluster name): not ours to place.
            LogRememberedOtherCluster(_selfId, _rememberedFile.Path, cluster, clusterName);
            members = [];
        }
        else if (members.Count > 0)
        {
            LogRememberedLoaded(_selfId, members.Count, _rememberedFile.Path);
        }
        _saved = [.. members.OrderBy(m => m.Id, StringComparer.Ordinal)];
        Volatile.Write(ref _remembered, members.ToDictionary(m => m.Id, StringComparer.Ordinal));
    }

    /// <summary>
    /// Adds what the table lists to the remembered members (never removes one) and writes the file when a member's
    /// placement (id, addresses, zone) changed. A failed write is logged and tried again at the next refresh.
    /// </summary>
    private List<RememberedMember> Remember(IReadOnlyList<MemberRow> rows)
    {
        LoadRemembered();
        var remembered = _remembered!;
        foreach (var row in rows)
            remembered[row.Id] = RememberedMember.From(row);

        var current = remembered.Values.OrderBy(m => m.Id, StringComparer.Ordinal).ToList();
        if (current.Count != _saved.Count || current.Where((m, i) => !m.SamePlacement(_saved[i])).Any())
        {
            try
            {
                _rememberedFile.Save(nodeOptions.Value.ClusterName, current);
                _saved = current;
                LogRememberedSaved(_selfId, current.Count, _rememberedFile.Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogRememberedSaveFailed(ex, _selfId, _rememberedFile.Path);
            }
        }
        return current;
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

    /// <summary>Reads the remembered members before the node serves: a file that cannot be read stops the start.</summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        LoadRemembered();
        return Task.CompletedTask;
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} remembers {Count} members from {Path}; those the membership store does not list stay in the ring as down")]
    private partial void LogRememberedLoaded(string nodeId, int count, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId}: {Path} remembers the members of cluster {FileCluster}, not of {Cluster}; starting from what the membership store lists")]
    private partial void LogRememberedOtherCluster(string nodeId, string path, string fileCluster, string cluster);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} remembered {Count} members in {Path}")]
    private partial void LogRememberedSaved(string nodeId, int count, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Node {NodeId} could not write {Path}; members the store forgets after a restart may leave the ring (retrying at the next refresh)")]
    private partial void LogRememberedSaveFailed(Exception ex, string nodeId, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} left the cluster gracefully (stays in the ring)")]
    private partial void LogLeft(string nodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} could not announce its leave")]
    private partial void LogLeaveFailed(Exception ex, string nodeId);
}
