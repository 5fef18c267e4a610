using System.Globalization;
using System.Text.Json;
using LogStream.Web.Cluster;
using LogStream.Web.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace LogStream.Web.Snapshot;

/// <summary>
/// Every <see cref="SnapshotOptions.RefreshInterval"/>: asks one node for the cluster view, every member for its
/// <c>/api/node</c> (in parallel, each within the node timeout), now and then counts the ERRORs, and publishes the new
/// snapshot. One tick is <see cref="RefreshAsync"/>, which tests call directly.
/// </summary>
public sealed partial class SnapshotRefresher(
    ClusterClient clusterClient,
    NodeClient nodeClient,
    SnapshotStore store,
    DashboardMetrics metrics,
    IOptions<SnapshotOptions> options,
    IOptions<DashboardOptions> dashboardOptions,
    TimeProvider timeProvider,
    ILogger<SnapshotRefresher> logger) : BackgroundService
{
    private DateTimeOffset _lastErrorCount = DateTimeOffset.MinValue;
    private Task<ErrorTally?>? _errorCount;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, timeProvider);
        try
        {
            do
            {
                try
                {
                    await RefreshAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRefreshFailed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One refresh: fetch, aggregate, publish. Returns the published snapshot.</summary>
    public async Task<DashboardSnapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        // A refresh every second would bury the interesting traces (demo runs, repairs) in the Aspire dashboard, whose
        // sampler records everything: its calls are not traced here, and they carry the background-poll header so the
        // nodes do not trace them either. Duration and outcome are metrics.
        using var quiet = SuppressInstrumentationScope.Begin();
        using var polling = BackgroundPoll.Begin();

        var previous = store.Latest ?? DashboardSnapshot.Empty(timeProvider.GetUtcNow());
        var cluster = await clusterClient.GetClusterAsync(cancellationToken);
        var polls = cluster.Cluster is null
            ? []
            : await Task.WhenAll(cluster.Cluster.Members.Select(m => PollAsync(m, cancellationToken)));
        // The ERROR count is a cluster query: it runs beside the refreshes, never holding one up, and the refresh after
        // it completes publishes it.
        var errors = TakeErrorCount();
        StartErrorCountIfDue(cluster, cancellationToken);

        var snapshot = SnapshotAggregator.Aggregate(previous, cluster, polls, errors, timeProvider.GetUtcNow(), options.Value.RateWindow);
        store.Publish(snapshot);
        metrics.Refreshed(snapshot, timeProvider.GetElapsedTime(started));
        return snapshot;
    }

    private async Task<NodePoll> PollAsync(MemberInfo member, CancellationToken cancellationToken)
    {
        if (member.State is "down" or "leaving")
            return new NodePoll(member.Id, member.Address, null, $"member is {member.State}");
        try
        {
            var node = await nodeClient.GetNodeAsync(member.Address, cancellationToken);
            metrics.NodePolled(member.Id, true);
            return new NodePoll(member.Id, member.Address, node, null);
        }
        catch (NodeUnavailableException ex)
        {
            metrics.NodePolled(member.Id, false);
            LogNodePollFailed(member.Id, ex.Message);
            return new NodePoll(member.Id, member.Address, null, ex.Message);
        }
    }

    private ErrorTally? TakeErrorCount()
    {
        if (_errorCount is not { IsCompleted: true } done)
            return null;
        _errorCount = null;
        return done.IsCompletedSuccessfully ? done.Result : null;
    }

    private void StartErrorCountIfDue(ClusterReport cluster, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (_errorCount is not null || cluster.Cluster is null || now - _lastErrorCount < options.Value.ErrorCountInterval)
            return;
        _lastErrorCount = now;
        _errorCount = CountErrorsAsync(cluster.Cluster, now, cancellationToken);
    }

    /// <summary>ERROR-and-above records of the last hour, at ONE with partial answers allowed: a cheap, approximate count.</summary>
    private async Task<ErrorTally?> CountErrorsAsync(ClusterInfo cluster, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var from = (now - settings.ErrorCountWindow).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var query = $"/api/logs?min_level=ERROR&from={from}&limit={settings.ErrorCountLimit}&consistency=ONE&allow_partial=true";
        foreach (var member in cluster.Members.Where(m => m.State == "up"))
        {
            var answer = await nodeClient.GetAsync(member.Id, member.Address, query, dashboardOptions.Value.QueryTimeout, cancellationToken);
            if (answer is { Succeeded: true, Body: { } body } && body.TryGetProperty("count", out var count) && count.ValueKind == JsonValueKind.Number)
                return new ErrorTally(count.GetInt64(), count.GetInt64() >= settings.ErrorCountLimit, now);
            LogErrorCountFailed(member.Id, answer.Error ?? "no count in the answer");
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboard refresh failed")]
    private partial void LogRefreshFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Node {Node} gave no figures: {Reason}")]
    private partial void LogNodePollFailed(string node, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Counting ERRORs through {Node} failed: {Reason}")]
    private partial void LogErrorCountFailed(string node, string reason);
}
