using Google.Protobuf;
using Grpc.Core;
using LogStream.Node.Repair.Grpc;
using LogStream.Node.Replication;
using LogStream.Node.Ring;
using LogStream.Storage;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Repair;

/// <summary>This node's side of anti-entropy: roots, tree nodes, digests and records of its buckets, for a peer.</summary>
/// Listing digests and reading records run on the repair threads (<see cref="RepairScheduler"/>), as this node's own rounds do.
public sealed class RepairGrpcService(
    MerkleTrees trees, BucketViews views, ILogStore store, RingView ringView, RepairScheduler scheduler, IOptions<RepairOptions> options)
    : Grpc.Repair.RepairBase
{
    /// <summary>A background round asked, and the bucket is being written to here: listing its digests now would cost ingest.</summary>
    private bool Busy(BucketKey bucket, bool deferBusy) => deferBusy && trees.WrittenWithin(bucket, options.Value.QuietPeriod);

    public override Task<RootsReply> GetRoots(RootsRequest request, ServerCallContext context)
    {
        var reply = new RootsReply();
        var wanted = request.Buckets.Count == 0 ? null : request.Buckets.Select(ToKey).ToHashSet();
        var ring = ringView.Current;
        foreach (var (bucket, tree) in trees.All)
        {
            if (wanted is not null ? !wanted.Contains(bucket) : !Replicates(ring, bucket.Partition, request.Requester, ringView.ReplicationFactor))
                continue;
            var (root, records) = tree.Root;
            reply.Roots.Add(new BucketRoot { Bucket = ToId(bucket), Root = root, Records = (ulong)records });
        }
        return Task.FromResult(reply);
    }

    public override Task<TreeNodesReply> GetTreeNodes(TreeNodesRequest request, ServerCallContext context) =>
        scheduler.RunAsync(() => TreeNodes(request), context.CancellationToken);

    private TreeNodesReply TreeNodes(TreeNodesRequest request) =>
        FromView(request.Bucket, request.DeferBusy, request.Prefixes.Select(prefix => ((int)request.Level, prefix)), view =>
        {
            var reply = new TreeNodesReply();
            foreach (var prefix in request.Prefixes)
            {
                var (hash, records) = view.Node((int)request.Level, prefix);
                reply.Hashes.Add(hash);
                reply.Records.Add((ulong)records);
            }
            return reply;
        }, static () => new TreeNodesReply { Busy = true });

    public override Task<DigestsReply> GetDigests(DigestsRequest request, ServerCallContext context) =>
        scheduler.RunAsync(() => Digests(request), context.CancellationToken);

    private DigestsReply Digests(DigestsRequest request) =>
        !request.ByIdHash ? new DigestsReply { Busy = true } : FromView(request.Bucket, request.DeferBusy, request.Nodes.Select(node => ((int)node.Level, node.Prefix)), view =>
        {
            var reply = new DigestsReply();
            foreach (var node in request.Nodes)
            {
                foreach (var digest in view.Digests((int)node.Level, node.Prefix))
                    reply.Digests.Add(new Digest { IdHash = digest.IdHash, ContentHash = digest.ContentHash });
            }
            return reply;
        }, static () => new DigestsReply { Busy = true });

    /// <summary>
    /// Answers from a view of the bucket's tree nodes <paramref name="nodes"/>, or <paramref name="busy"/> when a
    /// background round asked and ingest lands in the bucket, before or while the view builds a digest index.
    /// </summary>
    private TReply FromView<TReply>(BucketId id, bool deferBusy, IEnumerable<(int Level, ulong Prefix)> nodes,
        Func<BucketViews.BucketView, TReply> answer, Func<TReply> busy)
    {
        var bucket = ToKey(id);
        if (Busy(bucket, deferBusy))
            return busy();
        try
        {
            return answer(views.View(bucket, nodes, deferBusy ? () => Busy(bucket, deferBusy: true) : null));
        }
        catch (BucketBusyException)
        {
            return busy();
        }
    }

    public override Task<FetchRecordsReply> FetchRecords(FetchRecordsRequest request, ServerCallContext context) =>
        scheduler.RunAsync(() => Records(request, context.CancellationToken), context.CancellationToken);

    private async Task<FetchRecordsReply> Records(FetchRecordsRequest request, CancellationToken cancellationToken)
    {
        var reply = new FetchRecordsReply();
        var idHashes = request.IdHashes.ToHashSet();
        foreach (var id in request.Ids)
            idHashes.Add(RecordIdHash.Of(id));
        await foreach (var encoded in store.ReadEncodedRecordsAsync(ToKey(request.Bucket), idHashes, cancellationToken))
            reply.Records.Add(UnsafeByteOperations.UnsafeWrap(encoded));
        return reply;
    }

    /// <summary>Whether <paramref name="member"/> is one of the partition's replicas on this node's ring.</summary>
    public static bool Replicates(TokenRing ring, string partition, string member, int replicationFactor) =>
        ring.ReplicasFor(partition, replicationFactor).Any(r => r.Id == member);

    public static BucketKey ToKey(BucketId id) => new(id.Partition, UnixTicks.ToDateTimeOffset(id.BucketUnixTicks));

    public static BucketId ToId(BucketKey key) => new() { Partition = key.Partition, BucketUnixTicks = UnixTicks.From(key.Bucket) };
}
