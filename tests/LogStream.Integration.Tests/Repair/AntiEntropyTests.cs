using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using LogStream.Testing;
using RepairGrpc = LogStream.Node.Repair.Grpc;
using Xunit.Abstractions;

namespace LogStream.Integration.Tests.Repair;

/// <summary>A cluster whose background anti-entropy is off, so each test decides when a round runs; chaos on.</summary>
public sealed class ManualRepairClusterFixture : NodeClusterFixture
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["LogStream:Repair:Enabled"] = "false",
        ["LogStream:Chaos:Enabled"] = "true",
        ["LogStream:Hints:Enabled"] = "false",
        // Long enough that a bucket written by a test is still busy when the test's defer_busy round looks at it.
        ["LogStream:Repair:QuietPeriod"] = "00:00:30",
    };
}

/// <summary>Anti-entropy between real node processes: Merkle roots, row-level repair, verified counts.</summary>
[Collection(ManualRepairCollection.Name)]
public sealed class AntiEntropyTests(ManualRepairClusterFixture fixture, ITestOutputHelper output)
{
    private static string Run() => "ae" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Each node's (partition, bucket) → (records, root), for the run's partitions.</summary>
    private static async Task<Dictionary<string, (long Records, string Root)>> BucketsAsync(NodeProcess node, string run)
    {
        var view = await node.GetJsonAsync("/api/node");
        return view.GetProperty("partitions").EnumerateArray()
            .Where(p => p.GetProperty("partition").GetString()!.Contains(run, StringComparison.Ordinal))
            .ToDictionary(
                p => $"{p.GetProperty("partition").GetString()} @ {p.GetProperty("bucket").GetString()}",
                p => (p.GetProperty("records").GetInt64(), p.GetProperty("root").GetString()!));
    }

    /// <summary>Chaos: the node really loses a fraction of its records; returns how many (at least one).</summary>
    private static async Task<long> LoseAsync(NodeProcess node, double fraction)
    {
        using var lose = await node.Http.PostAsync(FormattableString.Invariant($"/api/chaos/lose?fraction={fraction}"), null);
        var loss = await lose.Content.ReadFromJsonAsync<JsonElement>();
        var removed = loss.GetProperty("removed").GetInt64();
        Assert.True(removed > 0, loss.ToString());
        return removed;
    }

    private static async Task<JsonElement> RepairAsync(NodeProcess node)
    {
        using var response = await node.Http.PostAsync("/api/repair", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task<double> MetricAsync(NodeProcess node, string metric, params (string, string)[] labels) =>
        PrometheusText.Sum(await node.Http.GetStringAsync("/metrics"), metric, labels);

    private static async Task IngestAsync(NodeCluster cluster, List<ClientRecord> records)
    {
        foreach (var batch in records.Chunk(1000))
        {
            using var write = await cluster[0].Http.PostAsync(batch, "ALL");
            Assert.True(write.IsSuccessStatusCode, await write.Content.ReadAsStringAsync());
        }
    }

    private static async Task AssertInSyncAsync(NodeCluster cluster, string run, int expectedRecords)
    {
        var views = new List<Dictionary<string, (long Records, string Root)>>();
        for (var i = 0; i < 3; i++)
            views.Add(await BucketsAsync(cluster[i], run));
        Assert.All(views, v => Assert.Equal(expectedRecords, v.Values.Sum(b => b.Records)));
        Assert.Equal(views[0], views[1]);
        Assert.Equal(views[0], views[2]);
    }

    [SkippableFact]
    public async Task OneRoundRestoresWhatOneReplicaLostShippingOnlyTheLostRecords()
    {
        var cluster = fixture.Require();
        var run = Run();
        var records = TestRecords.Generate(3000, run, sources: 4);
        await IngestAsync(cluster, records);
        await AssertInSyncAsync(cluster, run, records.Count);
        var appendedBytes = await MetricAsync(cluster[1], "logstream_storage_appended_bytes_total");
        var appendedRecords = await MetricAsync(cluster[1], "logstream_storage_records_appended_total");
        var averageRecordBytes = appendedBytes / appendedRecords;

        var lost = await LoseAsync(cluster[1], 0.05);
        var before = await BucketsAsync(cluster[1], run);
        Assert.NotEqual(await BucketsAsync(cluster[0], run), before);
        var recordBytesBefore = await MetricAsync(cluster[0], "logstream_repair_bytes_total", ("kind", "records"));
        var completedBefore = await MetricAsync(cluster[0], "logstream_repairs_completed_total");

        var round = await RepairAsync(cluster[0]);

        output.WriteLine(round.ToString());
        await AssertInSyncAsync(cluster, run, records.Count);
        var withNode1 = round.GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("peer").GetString() == "node-1");
        Assert.Equal(lost, withNode1.GetProperty("records_sent").GetInt64() + withNode1.GetProperty("records_received").GetInt64());
        var shippedBytes = await MetricAsync(cluster[0], "logstream_repair_bytes_total", ("kind", "records")) - recordBytesBefore;
        output.WriteLine($"lost {lost} records; shipped {shippedBytes} record bytes = {shippedBytes / (lost * averageRecordBytes):F3} x (k x average record of {averageRecordBytes:F0} B); tree exchange {withNode1.GetProperty("tree_bytes").GetInt64()} B");
        Assert.True(shippedBytes <= 1.1 * lost * averageRecordBytes, $"{shippedBytes} bytes shipped for {lost} records of ~{averageRecordBytes:F0} B");
        // Every differing bucket was repaired and verified.
        Assert.Equal(withNode1.GetProperty("buckets_differing").GetInt32(), withNode1.GetProperty("repairs_completed").GetInt32());
        Assert.Equal(completedBefore + withNode1.GetProperty("repairs_completed").GetInt32(), await MetricAsync(cluster[0], "logstream_repairs_completed_total"));
    }

    [SkippableFact]
    public async Task ReplicasInSyncShipNothingExchangeOnlyRootsAndCountNoRepair()
    {
        var cluster = fixture.Require();
        var run = Run();
        await IngestAsync(cluster, TestRecords.Generate(500, run, sources: 3));
        await RepairAsync(cluster[0]); // whatever earlier tests left behind
        var completed = await MetricAsync(cluster[0], "logstream_repairs_completed_total");
        var treeBytes = await MetricAsync(cluster[0], "logstream_repair_bytes_total", ("kind", "tree"));

        var round = await RepairAsync(cluster[0]);

        Assert.Equal(0, round.GetProperty("buckets_differing").GetInt32());
        Assert.Equal(0, round.GetProperty("records_sent").GetInt64());
        Assert.Equal(0, round.GetProperty("records_received").GetInt64());
        Assert.Equal(completed, await MetricAsync(cluster[0], "logstream_repairs_completed_total"));
        var compared = round.GetProperty("buckets_compared").GetInt32();
        var spent = await MetricAsync(cluster[0], "logstream_repair_bytes_total", ("kind", "tree")) - treeBytes;
        output.WriteLine($"{compared} buckets compared with {spent} bytes of roots");
        Assert.True(compared > 0);
        Assert.True(spent <= 80 * compared + 200, $"{spent} bytes for {compared} root comparisons: more than roots were exchanged");
    }

    [SkippableFact]
    public async Task ANodeWhoseDataDirectoryWasWipedRejoinsAndConverges()
    {
        var cluster = fixture.Require();
        var run = Run();
        var records = TestRecords.Generate(2000, run, sources: 3);
        await IngestAsync(cluster, records);
        var wiped = cluster[2];
        await cluster.StopAsync(2);
        Directory.Delete(wiped.Spec.DataDirectory, recursive: true);
        var node2 = await cluster.RestartAsync(2, wiped);
        Assert.Empty(await BucketsAsync(node2, run));

        var round = await RepairAsync(node2);

        output.WriteLine(round.ToString());
        // It may also receive what earlier tests left on this shared cluster.
        Assert.True(round.GetProperty("records_received").GetInt64() >= records.Count, round.ToString());
        await AssertInSyncAsync(cluster, run, records.Count);
        var local = await node2.Http.QueryIdsAsync($"consistency=ONE&limit=10000&source={records[0].Source}");
        Assert.Equal(records.Where(r => r.Source == records[0].Source).Select(r => r.Id).Order(), local.Order());
    }

    [SkippableFact]
    public async Task ARecordFoundCorruptOnDiskIsFetchedAgainFromAReplica()
    {
        var cluster = fixture.Require();
        var run = Run();
        var records = TestRecords.Generate(600, run, sources: 1);
        await IngestAsync(cluster, records);
        var damaged = cluster[2];
        await cluster.StopAsync(2);

        // Flip one byte in the middle of the run's segment file, as bit rot would.
        var segment = Directory.EnumerateFiles(Path.Combine(damaged.Spec.DataDirectory, "segments"), "*.log", SearchOption.AllDirectories)
            .Where(f => f.Contains(run, StringComparison.Ordinal))
            .OrderByDescending(f => new FileInfo(f).Length)
            .First();
        await using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length / 2;
            var value = file.ReadByte();
            file.Position = file.Length / 2;
            file.WriteByte((byte)(value ^ 0x5A));
        }

        var node2 = await cluster.RestartAsync(2, damaged);
        var held = (await BucketsAsync(node2, run)).Values.Sum(b => b.Records);
        output.WriteLine($"node-2 holds {held} of {records.Count} records after the corruption");
        Assert.True(held < records.Count, "the flipped byte should have cost at least one record");
        Assert.True(await MetricAsync(node2, "logstream_storage_corrupt_frames_total") > 0);

        var round = await RepairAsync(cluster[0]);

        output.WriteLine(round.ToString());
        await AssertInSyncAsync(cluster, run, records.Count);
    }

    [SkippableFact]
    public async Task ABackgroundRoundLeavesBucketsBeingWrittenToForALaterRound()
    {
        var cluster = fixture.Require();
        var run = Run();
        var records = TestRecords.Generate(600, run, sources: 1);
        await IngestAsync(cluster, records);
        await LoseAsync(cluster[1], 0.1);
        // Ingest lands in every bucket of the run again, so each is inside the quiet period.
        var fresh = records.GroupBy(r => r.Timestamp.UtcDateTime.Hour)
            .Select((bucket, i) => bucket.First() with { Id = $"{run}-fresh-{i}" })
            .ToList();
        await IngestAsync(cluster, fresh);

        using var deferring = await cluster[0].Http.PostAsync("/api/repair?defer_busy=true", null);
        var round = JsonDocument.Parse(await deferring.Content.ReadAsStringAsync()).RootElement;
        output.WriteLine(round.ToString());
        var withNode1 = round.GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("peer").GetString() == "node-1");
        Assert.True(withNode1.GetProperty("buckets_deferred").GetInt32() >= 1, withNode1.ToString());
        Assert.NotEqual(await BucketsAsync(cluster[0], run), await BucketsAsync(cluster[1], run));

        // The peer, too, answers "busy" instead of listing a busy bucket's deeper tree, when asked to defer.
        using var channel = GrpcChannel.ForAddress(cluster[1].InternalAddress);
        var peer = new RepairGrpc.Repair.RepairClient(channel);
        var secret = new Metadata { { "x-logstream-cluster-secret", NodeProcess.DefaultClusterSecret } };
        var roots = await peer.GetRootsAsync(new RepairGrpc.RootsRequest { Requester = "node-0" }, secret);
        var busyBucket = roots.Roots.First(r => r.Bucket.Partition.Contains(run, StringComparison.Ordinal)).Bucket;
        var deep = new RepairGrpc.TreeNodesRequest { Bucket = busyBucket, Level = 11, Prefixes = { 0UL }, DeferBusy = true };
        Assert.True((await peer.GetTreeNodesAsync(deep, secret)).Busy);
        deep.DeferBusy = false;
        var answered = await peer.GetTreeNodesAsync(deep, secret);
        Assert.False(answered.Busy);
        Assert.Single(answered.Hashes);

        // A round asked for without defer_busy repairs busy buckets too.
        await RepairAsync(cluster[0]);
        await AssertInSyncAsync(cluster, run, records.Count + fresh.Count);
    }

    [SkippableFact]
    public async Task ChaosEndedByLosesOnlyFromBucketsThatEndedByThenRepairRestoresThem()
    {
        var cluster = fixture.Require();
        var run = Run();
        var now = DateTimeOffset.UtcNow;
        // Old records span 4 h to 3 h ago; recent ones the last hour. Every old bucket has ended 2 h ago, no recent one has.
        var old = TestRecords.Generate(1200, run + "-old", sources: 2, now: now.AddHours(-3));
        var recent = TestRecords.Generate(1200, run + "-new", sources: 2, now: now);
        await IngestAsync(cluster, [.. old, .. recent]);
        var endedBy = now.AddHours(-2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

        using (var refused = await cluster[1].Http.PostAsync("/api/chaos/lose?fraction=0.5&ended_by=yesterday", null))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("ended_by", problem.GetProperty("parameter").GetString());
            Assert.Contains("yesterday", problem.GetProperty("detail").GetString());
        }
        await AssertInSyncAsync(cluster, run, old.Count + recent.Count);

        using var lose = await cluster[1].Http.PostAsync($"/api/chaos/lose?fraction=0.5&ended_by={endedBy}", null);
        Assert.True(lose.IsSuccessStatusCode, await lose.Content.ReadAsStringAsync());
        var loss = await lose.Content.ReadFromJsonAsync<JsonElement>();
        var after = await BucketsAsync(cluster[1], run);
        var oldLeft = after.Where(b => b.Key.Contains(run + "-old", StringComparison.Ordinal)).Sum(b => b.Value.Records);
        var recentLeft = after.Where(b => b.Key.Contains(run + "-new", StringComparison.Ordinal)).Sum(b => b.Value.Records);
        output.WriteLine($"{loss}; old records left {oldLeft} of {old.Count}, recent {recentLeft} of {recent.Count}");
        Assert.Equal(recent.Count, recentLeft);
        Assert.InRange(oldLeft, old.Count / 2 - 4, old.Count / 2 + 4); // half of each bucket, rounded per bucket
        Assert.True(loss.GetProperty("removed").GetInt64() >= old.Count - oldLeft, loss.ToString()); // other tests' old buckets count too

        await RepairAsync(cluster[0]);
        await AssertInSyncAsync(cluster, run, old.Count + recent.Count);
    }
    [SkippableFact]
    public async Task RepairWhileIngestContinuesConvergesOnceIngestStopsAndLosesNothing()
    {
        var cluster = fixture.Require();
        var run = Run();
        var acked = new List<ClientRecord>();
        using var stop = new CancellationTokenSource();
        var ingest = Task.Run(async () =>
        {
            // At most 60 batches: each source then holds no more than a query's limit.
            for (var i = 0; !stop.IsCancellationRequested && i < 60; i++)
            {
                var batch = TestRecords.Generate(200, $"{run}-{i:D3}", sources: 2, seed: i).Select(r => r with { Source = $"{run}-svc-{i % 2}" }).ToList();
                using var write = await cluster[0].Http.PostAsync(batch, "QUORUM");
                if (write.IsSuccessStatusCode)
                {
                    lock (acked)
                        acked.AddRange(batch);
                }
            }
        });

        await Wait.UntilAsync(() => { lock (acked) return acked.Count >= 2000; }, TimeSpan.FromSeconds(30), "ingest to get going");
        using (var lose = await cluster[1].Http.PostAsync("/api/chaos/lose?fraction=0.1", null))
            Assert.True(lose.IsSuccessStatusCode);
        for (var i = 0; i < 3; i++)
            await RepairAsync(cluster[i % 3]);
        await stop.CancelAsync();
        await ingest;

        // Once writes stop, rounds converge: every acknowledged record on every replica, equal roots.
        await Wait.UntilAsync(async () =>
        {
            var round = await RepairAsync(cluster[1]);
            return round.GetProperty("buckets_differing").GetInt32() == 0 && (await RepairAsync(cluster[0])).GetProperty("buckets_differing").GetInt32() == 0;
        }, TimeSpan.FromSeconds(30), "repair rounds to find no difference once ingest stopped");
        await AssertInSyncAsync(cluster, run, acked.Count);
        for (var node = 0; node < 3; node++)
        {
            var held = new HashSet<string>();
            foreach (var source in acked.Select(r => r.Source).Distinct())
                held.UnionWith(await cluster[node].Http.QueryIdsAsync($"consistency=ONE&limit=10000&source={source}"));
            Assert.Equal(acked.Select(r => r.Id).ToHashSet(), held);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ManualRepairCollection : ICollectionFixture<ManualRepairClusterFixture>
{
    public const string Name = "manual-repair-cluster";
}
