using Google.Protobuf;
using LogStream.Node.Membership;
using LogStream.Node.Repair.Grpc;
using LogStream.Node.Replication;
using LogStream.Node.Ring;
using LogStream.Storage;
using Microsoft.Extensions.Options;
using RepairClient = LogStream.Node.Repair.Grpc.Repair.RepairClient;

namespace LogStream.Node.Repair;

/// <summary>What one anti-entropy round found and fixed.</summary>
public sealed record RepairRound(
    IReadOnlyList<PeerRepair> Peers,
    DateTimeOffset StartedAt,
    TimeSpan Duration)
{
    public int BucketsCompared => Peers.Sum(p => p.BucketsCompared);

    public int BucketsDiffering => Peers.Sum(p => p.BucketsDiffering);

    public int BucketsDeferred => Peers.Sum(p => p.BucketsDeferred);

    public long RecordsSent => Peers.Sum(p => p.RecordsSent);

    public long RecordsReceived => Peers.Sum(p => p.RecordsReceived);

    public int RepairsCompleted => Peers.Sum(p => p.RepairsCompleted);
}

/// <param name="BucketsDeferred">Differing buckets left for a later round because they are being written to.</param>
/// <param name="StillDiffering">Buckets whose roots were still unequal after shipping (e.g. writes arrived meanwhile).</param>
public sealed record PeerRepair(
    string Peer,
    int BucketsCompared,
    int BucketsDiffering,
    int BucketsDeferred,
    long RecordsSent,
    long RecordsReceived,
    long RecordBytes,
    long TreeBytes,
    int RepairsCompleted,
    int StillDiffering,
    int Conflicts,
    string? Error);

/// <summary>
/// One round of anti-entropy (DESIGN §7): with every peer that is up, compare the roots of all shared buckets in one
/// call; for a bucket that differs, descend only into differing subtrees, level by level, down to nodes of a few
/// records; exchange those records' ids and ship exactly the missing records, both ways (row level). A bucket repair
/// counts as completed when records were shipped and both roots are equal afterwards.
/// </summary>
public sealed partial class AntiEntropy(
    LocalReplica local,
    ILogStore store,
    BucketViews views,
    MerkleTrees trees,
    ReplicaClient client,
    RingView ringView,
    MembershipView membership,
    IOptions<RepairOptions> options,
    TimeProvider timeProvider,
    RepairMetrics metrics,
    RepairScheduler scheduler,
    ILogger<AntiEntropy> logger)
{
    private readonly SemaphoreSlim _oneRoundAtATime = new(1, 1);
    private readonly RepairOptions _options = options.Value;
    private readonly RepairPacer _pacer = new(options.Value.MaxRecordsPerSecond, timeProvider);

    /// <summary>Runs one round on the repair threads (<see cref="RepairScheduler"/>): under load, ingest gets the CPU first.</summary>
    /// <param name="deferBusyBuckets">Leave buckets written to within the quiet period for a later round (background rounds).</param>
    public Task<RepairRound> RunRoundAsync(bool deferBusyBuckets, CancellationToken cancellationToken) =>
        scheduler.RunAsync(() => RunRoundCoreAsync(deferBusyBuckets, cancellationToken), cancellationToken);

    private async Task<RepairRound> RunRoundCoreAsync(bool deferBusyBuckets, CancellationToken cancellationToken)
    {
        await _oneRoundAtATime.WaitAsync(cancellationToken);
        try
        {
            using var activity = RepairMetrics.ActivitySource.StartActivity("logstream.repair.round");
            var startedAt = timeProvider.GetUtcNow();
            var started = timeProvider.GetTimestamp();
            var peers = membership.Snapshot.Members.Where(m => m.Id != local.NodeId && m.State == MemberState.Up && m.InternalAddress is not null);
            var results = new List<PeerRepair>();
            foreach (var peer in peers)
                results.Add(await RepairWithPeerAsync(peer, deferBusyBuckets, cancellationToken));
            return new RepairRound(results, startedAt, timeProvider.GetElapsedTime(started));
        }
        finally
        {
            _oneRoundAtATime.Release();
        }
    }

    private async Task<PeerRepair> RepairWithPeerAsync(Member peer, bool deferBusyBuckets, CancellationToken cancellationToken)
    {
        var tally = new Tally();
        int compared = 0, differing = 0;
        try
        {
            var ring = ringView.Current;
            var rf = ringView.ReplicationFactor;
            var request = new RootsRequest { Requester = local.NodeId };
            var reply = await CallAsync(peer, "repair.roots", (c, o) => c.GetRootsAsync(request, o).ResponseAsync, cancellationToken);
            TreeBytes(tally, request.CalculateSize() + reply.CalculateSize());

            var theirs = reply.Roots.ToDictionary(r => RepairGrpcService.ToKey(r.Bucket), r => (r.Root, (long)r.Records));
            var shared = trees.All
                .Where(t => RepairGrpcService.Replicates(ring, t.Key.Partition, peer.Id, rf))
                .Select(t => t.Key)
                .Concat(theirs.Keys)
                .Distinct()
                .ToList();

            var toRepair = new List<(BucketKey Bucket, (ulong, long) Theirs)>();
            foreach (var bucket in shared)
            {
                compared++;
                var mine = views.Root(bucket);
                var their = theirs.GetValueOrDefault(bucket);
                if (mine != their)
                    toRepair.Add((bucket, their));
            }
            differing = toRepair.Count;
            metrics.Compared(compared, differing);
            if (deferBusyBuckets)
                tally.Deferred = toRepair.RemoveAll(item => IsBusy(item.Bucket));

            await Parallel.ForEachAsync(toRepair,
                new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentBuckets, TaskScheduler = scheduler, CancellationToken = cancellationToken },
                async (item, token) =>
                {
                    // One bucket's failure (a slow call, a peer restarting) leaves the others to be repaired.
                    try
                    {
                        await RepairBucketAsync(peer, item.Bucket, item.Theirs, deferBusyBuckets, tally, token);
                    }
                    catch (BucketBusyException)
                    {
                        tally.Defer();
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref tally.StillDiffering);
                        Interlocked.CompareExchange(ref tally.Error, $"{item.Bucket.Partition}: {ex.Message}", null);
                        LogBucketFailed(item.Bucket.Partition, Partitioner.FormatBucket(item.Bucket.Bucket), peer.Id, ex.Message);
                    }
                });
            return tally.Result(peer.Id, compared, differing, tally.Error);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogPeerFailed(peer.Id, ex.Message);
            return tally.Result(peer.Id, compared, differing, ex.Message);
        }
    }

    /// <summary>Written to within the quiet period: ingest is landing there, so a diff now would chase a moving target.</summary>
    private bool IsBusy(BucketKey bucket) => trees.WrittenWithin(bucket, _options.QuietPeriod);

    private async Task RepairBucketAsync(Member peer, BucketKey bucket, (ulong Root, long Records) theirRoot, bool deferBusy, Tally tally,
        CancellationToken cancellationToken)
    {
        using var activity = RepairMetrics.ActivitySource.StartActivity("logstream.repair.bucket");
        activity?.SetTag("logstream.peer", peer.Id);
        activity?.SetTag("logstream.partition", bucket.Partition);
        var started = timeProvider.GetTimestamp();
        var id = RepairGrpcService.ToId(bucket);

        // Background rounds give up on a bucket as soon as ingest lands in it again: before each level, while building
        // a digest index (a bucket of millions takes a while), and while shipping (what was shipped stays, the rest is
        // for a later round). A digest listing of a bucket under ingest costs its writers and is stale at once.
        Func<bool> stop = () => deferBusy && IsBusy(bucket);

        // Descend level by level into the subtrees whose hash or count differ. Only left children travel: a right
        // child is its parent XOR its left sibling, on both sides.
        var settle = new List<TreeNode>();
        var (myRoot, myRecords) = views.Root(bucket);
        var frontier = new List<Differing> { new(0, 0, myRoot, myRecords, theirRoot.Root, theirRoot.Records) };
        while (frontier.Count > 0)
        {
            // Below the fixed leaves every level reads a digest index, rebuilt whenever the bucket changed.
            if (stop() && tally.Defer())
                return;
            var split = new List<Differing>();
            foreach (var node in frontier)
            {
                if (Math.Min(node.MyRecords, node.TheirRecords) == 0 || Math.Max(node.MyRecords, node.TheirRecords) <= _options.LeafRecords || node.Level == 64)
                    settle.Add(new TreeNode { Level = (uint)node.Level, Prefix = node.Prefix });
                else
                    split.Add(node);
            }
            if (split.Count == 0)
                break;

            var level = split[0].Level + 1;
            var request = new TreeNodesRequest { Bucket = id, Level = (uint)level, DeferBusy = deferBusy };
            request.Prefixes.AddRange(split.Select(n => n.Prefix));
            var reply = await CallAsync(peer, "repair.nodes", (c, o) => c.GetTreeNodesAsync(request, o).ResponseAsync, cancellationToken);
            TreeBytes(tally, request.CalculateSize() + reply.CalculateSize());
            if (reply.Busy && tally.Defer())
                return;
            if (reply.Hashes.Count != split.Count || reply.Records.Count != split.Count)
                throw new InvalidOperationException($"{peer.Id} answered {reply.Hashes.Count} tree nodes for {split.Count} asked");

            frontier = [];
            var mine = views.View(bucket, split.Select(n => (level, n.Prefix)), stop);
            for (var i = 0; i < split.Count; i++)
            {
                var parent = split[i];
                var (myLeft, myLeftRecords) = mine.Node(level, parent.Prefix);
                var (theirLeft, theirLeftRecords) = (reply.Hashes[i], (long)reply.Records[i]);
                var left = new Differing(level, parent.Prefix, myLeft, myLeftRecords, theirLeft, theirLeftRecords);
                var right = new Differing(level, parent.Prefix | (1UL << (64 - level)),
                    parent.MyHash ^ myLeft, parent.MyRecords - myLeftRecords,
                    parent.TheirHash ^ theirLeft, parent.TheirRecords - theirLeftRecords);
                if (left.Differs)
                    frontier.Add(left);
                if (right.Differs)
                    frontier.Add(right);
            }
        }

        if (stop() && tally.Defer())
            return;

        // Exchange the digests under the settled nodes, then ship exactly what each side lacks. Records are named by id
        // hash; a pair (id hash, content hash) present on one side only is missing on the other, unless the other side
        // has that id hash with other content: a conflict (same id, other content), reported and left alone.
        var digestsRequest = new DigestsRequest { Bucket = id, DeferBusy = deferBusy, ByIdHash = true };
        digestsRequest.Nodes.AddRange(settle);
        var digestsReply = await CallAsync(peer, "repair.digests", (c, o) => c.GetDigestsAsync(digestsRequest, o).ResponseAsync, cancellationToken);
        TreeBytes(tally, digestsRequest.CalculateSize() + digestsReply.CalculateSize());
        if (digestsReply.Busy && tally.Defer())
            return;

        // A peer of an older version names its records by id (no id hash): fetch those from it by id as well.
        var theirIds = new Dictionary<ulong, string>();
        var theirDigests = new HashSet<RecordDigest>();
        foreach (var digest in digestsReply.Digests)
        {
            var idHash = digest.IdHash;
            if (idHash == 0 && !string.IsNullOrEmpty(digest.Id))
                theirIds[idHash = RecordIdHash.Of(digest.Id)] = digest.Id;
            theirDigests.Add(new RecordDigest(idHash, digest.ContentHash));
        }
        var myView = views.View(bucket, settle.Select(n => ((int)n.Level, n.Prefix)), stop);
        var mineDigests = new HashSet<RecordDigest>();
        foreach (var node in settle)
            mineDigests.UnionWith(myView.Digests((int)node.Level, node.Prefix));
        var onlyMine = mineDigests.Where(d => !theirDigests.Contains(d)).Select(d => d.IdHash).ToHashSet();
        var onlyTheirs = theirDigests.Where(d => !mineDigests.Contains(d)).Select(d => d.IdHash).ToHashSet();
        var conflicting = onlyMine.Where(onlyTheirs.Contains).ToHashSet();
        var missingThere = onlyMine.Where(h => !conflicting.Contains(h)).ToList();
        var missingHere = onlyTheirs.Where(h => !conflicting.Contains(h)).ToList();
        var conflicts = conflicting.Count;
        metrics.Conflicts(conflicts);
        Interlocked.Add(ref tally.Conflicts, conflicts);
        if (conflicts > 0)
            LogConflicts(conflicts, bucket.Partition, peer.Id);

        var (received, pullStopped) = await PullAsync(peer, id, missingHere, theirIds, stop, tally, cancellationToken);
        var (sent, pushStopped) = pullStopped ? (0, true) : await PushAsync(peer, bucket, missingThere, stop, tally, cancellationToken);
        metrics.Shipped(sent, received);
        if (pullStopped || pushStopped)
        {
            tally.Defer();
            metrics.Attempted(timeProvider.GetElapsedTime(started));
            return;
        }

        // Verified, not assumed: both roots must agree now.
        var check = new RootsRequest { Requester = local.NodeId };
        check.Buckets.Add(id);
        var after = await CallAsync(peer, "repair.roots", (c, o) => c.GetRootsAsync(check, o).ResponseAsync, cancellationToken);
        TreeBytes(tally, check.CalculateSize() + after.CalculateSize());
        var theirsAfter = after.Roots.Count == 0 ? (0UL, 0L) : (after.Roots[0].Root, (long)after.Roots[0].Records);
        var mineAfter = views.Root(bucket);
        var duration = timeProvider.GetElapsedTime(started);
        if (sent + received > 0 && mineAfter == theirsAfter)
        {
            metrics.Completed(peer.Id, timeProvider.GetUtcNow(), duration);
            Interlocked.Increment(ref tally.Completed);
            LogRepaired(bucket.Partition, Partitioner.FormatBucket(bucket.Bucket), peer.Id, sent, received);
        }
        else
        {
            metrics.Attempted(duration);
            if (mineAfter != theirsAfter)
            {
                Interlocked.Increment(ref tally.StillDiffering);
                LogStillDiffering(bucket.Partition, Partitioner.FormatBucket(bucket.Bucket), peer.Id, sent, received);
            }
        }
    }

    private void TreeBytes(Tally tally, long bytes)
    {
        Interlocked.Add(ref tally.TreeBytes, bytes);
        metrics.Bytes("tree", bytes);
    }

    /// <summary>A tree node whose hash or record count differs between this node and the peer.</summary>
    private readonly record struct Differing(int Level, ulong Prefix, ulong MyHash, long MyRecords, ulong TheirHash, long TheirRecords)
    {
        public bool Differs => MyHash != TheirHash || MyRecords != TheirRecords;
    }

    /// <returns>Records received, and whether <paramref name="stop"/> ended the transfer early.</returns>
    private async Task<(long Received, bool Stopped)> PullAsync(Member peer, BucketId id, List<ulong> idHashes, Dictionary<ulong, string> ids, Func<bool> stop, Tally tally,
        CancellationToken cancellationToken)
    {
        long received = 0;
        var stopped = false;
        // Large requests: the peer reads its bucket once per request (a sealed bucket means decompressing it).
        foreach (var chunk in idHashes.Chunk(_options.BatchRecords * 10))
        {
            if (stopped = stop())
                break;
            await _pacer.AcquireAsync(chunk.Length, cancellationToken);
            var request = new FetchRecordsRequest { Bucket = id };
            request.IdHashes.AddRange(chunk);
            request.Ids.AddRange(chunk.Where(ids.ContainsKey).Select(h => ids[h]));
            var reply = await CallAsync(peer, "repair.fetch", (c, o) => c.FetchRecordsAsync(request, o).ResponseAsync, cancellationToken);
            TreeBytes(tally, request.CalculateSize());
            var bytes = reply.Records.Sum(r => (long)r.Length);
            Interlocked.Add(ref tally.RecordBytes, bytes);
            metrics.Bytes("records", bytes);
            var records = LocalReplica.Decode(reply.Records);
            var result = await local.AppendAsync(records, cancellationToken);
            received += result.Added;
        }
        Interlocked.Add(ref tally.Received, received);
        return (received, stopped);
    }

    /// <returns>Records sent, and whether <paramref name="stop"/> ended the transfer early.</returns>
    private async Task<(long Sent, bool Stopped)> PushAsync(Member peer, BucketKey bucket, List<ulong> idHashes, Func<bool> stop, Tally tally,
        CancellationToken cancellationToken)
    {
        if (idHashes.Count == 0)
            return (0, false);
        // One pass over the bucket for every missing record (a sealed bucket reads just the blocks that hold them).
        var encoded = new List<ByteString>(idHashes.Count);
        await foreach (var record in store.ReadEncodedRecordsAsync(bucket, idHashes, cancellationToken))
        {
            if (encoded.Count % 1024 == 0 && stop())
                return (0, true);
            encoded.Add(UnsafeByteOperations.UnsafeWrap(record));
        }

        long sent = 0;
        var stopped = false;
        foreach (var chunk in encoded.Chunk(_options.BatchRecords))
        {
            if (stopped = stop())
                break;
            await _pacer.AcquireAsync(chunk.Length, cancellationToken);
            await client.ReplicateAsync(peer, chunk, handoff: true, cancellationToken);
            var bytes = chunk.Sum(e => (long)e.Length);
            Interlocked.Add(ref tally.RecordBytes, bytes);
            metrics.Bytes("records", bytes);
            sent += chunk.Length;
        }
        Interlocked.Add(ref tally.Sent, sent);
        return (sent, stopped);
    }

    private Task<TReply> CallAsync<TReply>(Member peer, string operation, Func<RepairClient, global::Grpc.Core.CallOptions, Task<TReply>> call, CancellationToken cancellationToken) =>
        client.CallAsync(peer, operation, (invoker, callOptions) => call(new RepairClient(invoker), callOptions), cancellationToken);

    /// <summary>Counts of one peer's repair, added to by buckets repaired in parallel.</summary>
    private sealed class Tally
    {
        public long Sent;
        public long Received;
        public long RecordBytes;
        public long TreeBytes;
        public int Completed;
        public int StillDiffering;
        public int Conflicts;
        public int Deferred;
        public string? Error;

        /// <summary>Counts a bucket left for a later round; true, so it reads as a condition.</summary>
        public bool Defer()
        {
            Interlocked.Increment(ref Deferred);
            return true;
        }

        public PeerRepair Result(string peer, int compared, int differing, string? error) =>
            new(peer, compared, differing, Deferred, Sent, Received, RecordBytes, TreeBytes, Completed, StillDiffering, Conflicts, error);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Repaired {Partition} @ {Bucket} with {Peer}: sent {Sent}, received {Received} records; roots equal")]
    private partial void LogRepaired(string partition, string bucket, string peer, long sent, long received);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Partition} @ {Bucket} still differs from {Peer} after shipping (sent {Sent}, received {Received}); next round")]
    private partial void LogStillDiffering(string partition, string bucket, string peer, long sent, long received);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} records of {Partition} have the same id but other content on {Peer}; left alone")]
    private partial void LogConflicts(int count, string partition, string peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Repair of {Partition} @ {Bucket} with {Peer} failed: {Reason}; next round")]
    private partial void LogBucketFailed(string partition, string bucket, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Anti-entropy with {Peer} failed: {Reason}")]
    private partial void LogPeerFailed(string peer, string reason);
}
