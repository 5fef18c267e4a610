using System.Globalization;
using LogStream.Node.Membership;
using LogStream.Node.Query;
using LogStream.Node.Repair;
using LogStream.Node.Replication;
using LogStream.Node.Replication.Hints;
using LogStream.Storage;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Api;

/// <summary>
/// This node alone: <c>GET /api/node</c> (figures and every local (partition, bucket) with its Merkle root),
/// <c>POST /api/repair</c> (one anti-entropy round now) and <c>POST /api/chaos/lose</c> (only when chaos is enabled).
/// </summary>
public static class NodeApi
{
    public static IEndpointRouteBuilder MapNodeApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/node", GetNode)
            .WithName("GetNode")
            .WithSummary("This node's figures and its local (partition, bucket)s with record counts and Merkle roots.");
        endpoints.MapPost("/repair", RunRepair)
            .WithName("RunRepair")
            .WithSummary("Runs one anti-entropy round now and returns what it found and fixed.");
        endpoints.MapPost("/chaos/lose", Lose)
            .WithName("ChaosLose")
            .WithSummary("Chaos: this node really deletes a random fraction of its local records. 404 unless LogStream:Chaos:Enabled.");
        return endpoints;
    }

    public static NodeResponse GetNode(
        ILogStore store,
        MerkleTrees trees,
        MembershipView membership,
        IHintStore hints,
        ReplicationMetrics replication,
        QueryMetrics queries,
        RepairMetrics repairs,
        IOptions<NodeOptions> options)
    {
        var buckets = store.ListBuckets();
        var self = membership.Snapshot.Find(options.Value.NodeId);
        return new NodeResponse(
            options.Value.NodeId,
            self?.Zone,
            self?.Address,
            new NodeStats(
                replication.IngestedTotal,
                buckets.Sum(b => b.Records),
                buckets.Sum(b => b.Bytes),
                hints.Pending.Values.Sum(),
                replication.QuorumFailuresTotal,
                repairs.CompletedTotal,
                repairs.RecordsTotal,
                queries.ReadRepairedTotal,
                repairs.LastRepair),
            buckets
                .OrderBy(b => b.Partition, StringComparer.Ordinal).ThenBy(b => b.Bucket)
                .Select(b => new BucketResponse(
                    b.Partition,
                    b.Bucket.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    b.Records,
                    (trees.Find(b.Key)?.Root.Root ?? 0).ToString("x16", CultureInfo.InvariantCulture),
                    b.Sealed))
                .ToList());
    }

    /// <param name="deferBusy">Leave buckets being written to for later, as background rounds do (default false: repair everything now).</param>
    public static async Task<RepairResponse> RunRepair(
        AntiEntropy antiEntropy, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "defer_busy")] bool? deferBusy, CancellationToken cancellationToken)
    {
        var round = await antiEntropy.RunRoundAsync(deferBusyBuckets: deferBusy == true, cancellationToken);
        return new RepairResponse(
            round.Peers,
            round.BucketsCompared,
            round.BucketsDiffering,
            round.BucketsDeferred,
            round.RecordsSent,
            round.RecordsReceived,
            round.RepairsCompleted,
            Math.Round(round.Duration.TotalMilliseconds, 1));
    }

    /// <param name="endedBy">Only buckets whose window ended at or before this RFC 3339 instant (default: every bucket).</param>
    public static async Task<IResult> Lose(
        Chaos chaos, IOptions<ChaosOptions> options, double? fraction,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "ended_by")] string? endedBy, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
            return Results.Problem(title: "Chaos is disabled", detail: "Set LogStream:Chaos:Enabled=true to let this node delete its own data on purpose.",
                statusCode: StatusCodes.Status404NotFound);
        if (fraction is not (> 0 and <= 1))
            return Problems.BadParameter("fraction", "must be a number greater than 0 and at most 1 (e.g. 0.05)");
        DateTimeOffset? end = null;
        if (!string.IsNullOrEmpty(endedBy))
        {
            if (!RecordBatchParser.TryParseTimestamp(endedBy, out var parsed))
                return Problems.BadTime("ended_by", endedBy);
            end = parsed;
        }
        var loss = await chaos.LoseAsync(fraction.Value, end, cancellationToken);
        return Results.Ok(new ChaosResponse(loss.Removed, loss.Buckets, loss.RecordsBefore));
    }
}

public sealed record NodeResponse(string Id, string? Zone, string? Address, NodeStats Stats, IReadOnlyList<BucketResponse> Partitions);

/// <param name="RecordsIngested">Records this node accepted as coordinator (<c>logstream_records_ingested_total</c>).</param>
/// <param name="RecordsStored">Records held locally, every replica counted where it lives.</param>
public sealed record NodeStats(
    long RecordsIngested,
    long RecordsStored,
    long DiskBytes,
    long HintsPending,
    long QuorumFailures,
    long RepairsCompleted,
    long RecordsRepaired,
    long ReadRepaired,
    DateTimeOffset? LastRepair);

/// <param name="Root">The bucket's Merkle root, 16 hex digits: equal on every replica when they hold the same records.</param>
/// <param name="Bucket">Start of the time bucket, RFC 3339 UTC.</param>
public sealed record BucketResponse(string Partition, string Bucket, long Records, string Root, bool Sealed);

public sealed record RepairResponse(
    IReadOnlyList<PeerRepair> Peers,
    int BucketsCompared,
    int BucketsDiffering,
    int BucketsDeferred,
    long RecordsSent,
    long RecordsReceived,
    int RepairsCompleted,
    double DurationMs);


public sealed record ChaosResponse(long Removed, int Buckets, long RecordsBefore);
