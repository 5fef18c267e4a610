using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using LogStream.Node.Replication.Grpc;
using LogStream.Testing;
using Xunit.Abstractions;

namespace LogStream.Integration.Tests.Replication;

/// <summary>One three-node cluster (real processes, real Redis) shared by the replication tests of this class.</summary>
public sealed class ReplicationClusterFixture : NodeClusterFixture;

/// <summary>Quorum writes, hinted handoff, cross-partition queries, idempotency, validation and internal-call security.</summary>
public sealed class ReplicationTests(ReplicationClusterFixture fixture, ITestOutputHelper output) : IClassFixture<ReplicationClusterFixture>
{
    private static string Run() => "r" + Guid.NewGuid().ToString("N")[..8];

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    /// <summary>What node <paramref name="index"/> holds itself: a read at ONE coordinated by it asks only itself.</summary>
    private static Task<List<string>> LocalIdsAsync(NodeCluster cluster, int index, string source) =>
        cluster[index].Http.QueryIdsAsync($"source={source}&consistency=ONE&limit=10000");

    [SkippableFact]
    public async Task AQuorumWriteWithOneNodeStoppedSucceedsStoresHintsAndTheNodeGetsEveryRecordWhenItReturns()
    {
        var cluster = fixture.Require();
        var run = Run();
        var records = TestRecords.Generate(300, run, sources: 1);
        var source = records[0].Source;
        var stopped = cluster[2];
        await cluster.StopAsync(2);
        try
        {
            using var write = await cluster[0].Http.PostAsync(records, "QUORUM");
            var body = await BodyAsync(write);
            Assert.True(write.StatusCode == HttpStatusCode.OK, body.ToString());
            Assert.Equal(300, body.GetProperty("accepted").GetInt32());
            var partition = body.GetProperty("partitions")[0];
            Assert.Equal(["node-0", "node-1"], partition.GetProperty("acks").EnumerateArray().Select(a => a.GetString()).Order());
            // node-2 is either reported failed (hinted) or still being hinted when the quorum answered.
            var failed = partition.GetProperty("failed").EnumerateArray().ToList();
            if (failed.Count > 0)
            {
                Assert.Equal("node-2", failed[0].GetProperty("replica").GetString());
                Assert.True(failed[0].GetProperty("hinted").GetBoolean());
            }
            else
            {
                Assert.Equal(["node-2"], partition.GetProperty("pending").EnumerateArray().Select(p => p.GetString()));
            }

            await Wait.UntilAsync(async () =>
                PrometheusText.Sum(await cluster[0].Http.GetStringAsync("/metrics"), "logstream_hints_pending", ("target", "node-2")) >= 300,
                TimeSpan.FromSeconds(5), "node-0 to hold 300 hints for node-2");

            using var all = await cluster[0].Http.PostAsync(TestRecords.Generate(5, run + "-all", sources: 1), "ALL");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, all.StatusCode);
            Assert.Contains("node-2", await all.Content.ReadAsStringAsync());
        }
        finally
        {
            await cluster.RestartAsync(2, stopped);
        }

        var expected = records.Select(r => r.Id).Order().ToList();
        await Wait.UntilAsync(async () => (await LocalIdsAsync(cluster, 2, source)).Count == expected.Count, TimeSpan.FromSeconds(30),
            "the hints to be replayed to node-2");
        Assert.Equal(expected, (await LocalIdsAsync(cluster, 2, source)).Order().ToList());
        await Wait.UntilAsync(async () =>
            PrometheusText.Sum(await cluster[0].Http.GetStringAsync("/metrics"), "logstream_hints_pending", ("target", "node-2")) == 0,
            TimeSpan.FromSeconds(10), "node-0 to have no hints left for node-2");
    }

    [SkippableFact]
    public async Task WritesToACrashedPeerOpenItsCircuitAndFromThenOnBecomeHintsAtOnce()
    {
        var cluster = fixture.Require();
        var run = Run();
        var crashed = cluster[2];
        crashed.Kill(); // SIGKILL: membership still says up for a few seconds; calls fail with connection refused
        cluster.Nodes[2] = null;
        try
        {
            var reasons = new List<string>();
            for (var i = 0; i < 20; i++)
            {
                using var write = await cluster[0].Http.PostAsync(TestRecords.Generate(1, $"{run}-{i}", sources: 1));
                var body = await BodyAsync(write);
                Assert.True(write.StatusCode == HttpStatusCode.OK, body.ToString());
                foreach (var failure in body.GetProperty("partitions")[0].GetProperty("failed").EnumerateArray())
                    reasons.Add(failure.GetProperty("reason").GetString()!);
            }

            output.WriteLine(string.Join(Environment.NewLine, reasons));
            Assert.Contains("circuit open", reasons);
            var metrics = await cluster[0].Http.GetStringAsync("/metrics");
            Assert.True(PrometheusText.Sum(metrics, "logstream_replica_requests_total", ("peer", "node-2"), ("outcome", "circuit_open")) > 0, metrics);
        }
        finally
        {
            await cluster.RestartAsync(2, crashed);
        }
    }

    [SkippableFact]
    public async Task AWriteAtOneSucceedsWithTwoNodesDownWhereQuorumFails()
    {
        var cluster = fixture.Require();
        var run = Run();
        var (one, two) = (cluster[1], cluster[2]);
        await cluster.StopAsync(1);
        await cluster.StopAsync(2);
        try
        {
            using var atOne = await cluster[0].Http.PostAsync(TestRecords.Generate(50, run + "-one", sources: 2), "ONE");
            Assert.True(atOne.StatusCode == HttpStatusCode.OK, await atOne.Content.ReadAsStringAsync());

            using var atQuorum = await cluster[0].Http.PostAsync(TestRecords.Generate(50, run + "-quorum", sources: 2), "QUORUM");
            var problem = await BodyAsync(atQuorum);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, atQuorum.StatusCode);
            Assert.Equal("application/problem+json", atQuorum.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Write quorum not reached", problem.GetProperty("title").GetString());
            Assert.Equal(2, problem.GetProperty("failed_partitions").GetArrayLength());
            Assert.Contains("node-1", problem.GetProperty("detail").GetString());
        }
        finally
        {
            await cluster.RestartAsync(1, one);
            await cluster.RestartAsync(2, two);
        }
    }

    [SkippableFact]
    public async Task AnErrorQueryAcrossPartitionsReturnsExactlyTheIngestedErrorsFromEveryCoordinator()
    {
        var cluster = fixture.Require();
        var run = Run();
        var records = TestRecords.Generate(3000, run, sources: 12, errorRate: 0.03, seed: 7);
        foreach (var batch in records.Chunk(500))
        {
            using var write = await cluster[0].Http.PostAsync(batch);
            Assert.True(write.IsSuccessStatusCode, await write.Content.ReadAsStringAsync());
        }
        var errors = records.Where(r => r.Level == "ERROR").OrderByDescending(r => r.Timestamp).ThenByDescending(r => r.Id, StringComparer.Ordinal).ToList();
        output.WriteLine($"{errors.Count} ERROR records among {records.Count} in {records.Select(r => r.Source).Distinct().Count()} partitions");

        for (var node = 0; node < 3; node++)
        {
            // Other tests write too: keep this run's records (ids start with the run).
            var ids = (await cluster[node].Http.QueryIdsAsync("level=ERROR&limit=10000&consistency=QUORUM"))
                .Where(id => id.StartsWith(run + "-", StringComparison.Ordinal)).ToList();
            Assert.Equal(errors.Select(e => e.Id), ids);
        }

        var view = await cluster[1].GetJsonAsync("/api/cluster?tokens=false");
        var partitions = view.GetProperty("partitions").EnumerateArray()
            .Where(p => p.GetProperty("partition").GetString()!.StartsWith($"source:{run}-", StringComparison.Ordinal)).ToList();
        Assert.Equal(12, partitions.Count);
        Assert.All(partitions, p => Assert.Equal(3, p.GetProperty("replicas").GetArrayLength()));
        Assert.Equal(records.Count, partitions.Sum(p => p.GetProperty("records").GetInt64()));

        var fatalOrAbove = await cluster[1].Http.QueryIdsAsync("min_level=ERROR&limit=10000");
        Assert.Superset(errors.Select(e => e.Id).ToHashSet(), fatalOrAbove.ToHashSet());
        var limited = await cluster[2].Http.QueryIdsAsync($"level=ERROR&source={errors[0].Source}&limit=3");
        Assert.Equal(errors.Where(e => e.Source == errors[0].Source).Take(3).Select(e => e.Id), limited);
    }

    [SkippableFact]
    public async Task RetryingTheSameBatchNeverDuplicatesARecord()
    {
        var cluster = fixture.Require();
        var run = Run();
        var records = TestRecords.Generate(200, run, sources: 1);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var write = await cluster[attempt].Http.PostAsync(records);
            Assert.True(write.IsSuccessStatusCode, await write.Content.ReadAsStringAsync());
        }

        var ids = await cluster[0].Http.QueryIdsAsync($"source={records[0].Source}&limit=10000&consistency=ALL");
        Assert.Equal(200, ids.Count);
        Assert.Equal(records.Select(r => r.Id).Order(), ids.Order());
        for (var node = 0; node < 3; node++)
            Assert.Equal(200, (await LocalIdsAsync(cluster, node, records[0].Source)).Count);
    }

    public static TheoryData<string, string, string, string> BadBatches => new()
    {
        // body, content type, expected field, expected words in the detail
        { "[{\"id\":\"a\",\"timestamp\":\"2026-11-26T10:00:00Z\",\"level\":\"INFO\",\"source\":\"s\",\"message\":\"m\"", "application/json", "$", "ends before the JSON array is closed" },
        { "{\"not\":\"an array\"}", "application/json", "$", "JSON array" },
        { "[{\"timestamp\":\"{now}\",\"level\":\"INFO\",\"source\":\"{source}\",\"message\":42}]", "application/json", "message", "must be a string" },
        { "[{\"timestamp\":\"{now}\",\"level\":\"LOUD\",\"source\":\"{source}\",\"message\":\"m\"}]", "application/json", "level", "not a level" },
        { "[{\"timestamp\":\"{now}\",\"level\":\"INFO\",\"message\":\"m\"}]", "application/json", "source", "is required" },
        { "[{\"timestamp\":\"yesterday\",\"level\":\"INFO\",\"source\":\"{source}\",\"message\":\"m\"}]", "application/json", "timestamp", "RFC 3339" },
        { "[{\"timestamp\":\"{now}\",\"level\":\"INFO\",\"source\":\"{source}\",\"message\":\"m\",\"attributes\":{\"a\":{\"nested\":1}}}]", "application/json", "attributes.a", "flat" },
        { "[{\"timestamp\":\"{now}\",\"level\":\"INFO\",\"source\":\"{source}\",\"message\":\"m\",\"lvl\":\"INFO\"}]", "application/json", "lvl", "unknown field" },
        { "{\"timestamp\":\"{now}\",\"level\":\"INFO\",\"source\":\"{source}\",\"message\":\"ok\"}\n{\"timestamp\":\"{now}\",\"level\":\"INFO\",\"source\":\"{source}\"}", "application/x-ndjson", "message", "is required" },
    };

    [SkippableTheory]
    [MemberData(nameof(BadBatches))]
    public async Task ABadBatchGetsAProblemNamingTheRecordAndFieldAndWritesNothing(string body, string contentType, string field, string words)
    {
        var cluster = fixture.Require();
        var source = Run() + "-bad";
        // A valid record first, then the bad one: nothing of the batch may be written.
        var valid = $"{{\"timestamp\":\"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\",\"level\":\"INFO\",\"source\":\"{source}\",\"message\":\"valid\"}}";
        var text = body.Replace("{now}", DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ")).Replace("{source}", source);
        if (contentType == "application/json" && text.StartsWith("[{", StringComparison.Ordinal))
            text = "[" + valid + "," + text[1..];

        using var response = await cluster[0].Http.PostAsync("/api/logs", new StringContent(text, Encoding.UTF8, contentType));
        var problem = await BodyAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var error = problem.GetProperty("errors")[0];
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Contains(words, error.GetProperty("message").GetString());
        Assert.Contains("Nothing was written", problem.GetProperty("detail").GetString());
        Assert.Empty(await cluster[0].Http.QueryIdsAsync($"source={source}&consistency=ALL"));
    }

    [SkippableFact]
    public async Task AnOversizeMessageOrBatchIsRefusedAndWritesNothing()
    {
        var cluster = fixture.Require();
        var run = Run();
        var huge = TestRecords.Generate(1, run, sources: 1).Select(r => r with { Message = new string('x', 70_000) }).ToList();
        using var bigMessage = await cluster[0].Http.PostAsync(huge);
        var problem = await BodyAsync(bigMessage);
        Assert.Equal(HttpStatusCode.BadRequest, bigMessage.StatusCode);
        Assert.Equal(0, problem.GetProperty("errors")[0].GetProperty("record").GetInt32());
        Assert.Equal("message", problem.GetProperty("errors")[0].GetProperty("field").GetString());

        using var tooMany = await cluster[0].Http.PostAsync(TestRecords.Generate(10_001, run + "-many", sources: 1));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooMany.StatusCode);
        Assert.Empty(await cluster[0].Http.QueryIdsAsync($"source={run}-many-svc-0&consistency=ALL"));
    }

    [SkippableFact]
    public async Task BadQueryParametersGetAProblemNamingTheParameter()
    {
        var cluster = fixture.Require();
        foreach (var (query, parameter) in new[]
                 {
                     ("level=LOUD", "level"), ("from=yesterday", "from"), ("limit=0", "limit"), ("consistency=MOST", "consistency"),
                     ("levle=ERROR", "levle"), ("from=2026-11-26T10:00:00Z&to=2026-11-26T09:00:00Z", "to"),
                 })
        {
            using var response = await cluster[0].Http.GetAsync($"/api/logs?{query}");
            var problem = await BodyAsync(response);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(parameter, problem.GetProperty("parameter").GetString());
        }
    }

    [SkippableFact]
    public async Task AnInternalCallWithoutTheClusterSecretIsRefused()
    {
        var cluster = fixture.Require();
        var view = await cluster[1].GetJsonAsync("/api/cluster");
        var internalAddress = view.GetProperty("members").EnumerateArray()
            .Single(m => m.GetProperty("id").GetString() == "node-1").GetProperty("internal_address").GetString()!;
        using var channel = GrpcChannel.ForAddress(internalAddress);
        var client = new Replica.ReplicaClient(channel);

        var none = await Assert.ThrowsAsync<RpcException>(() => client.ReadAsync(new ReadRequest { Limit = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);

        var wrong = new Metadata { { "x-logstream-cluster-secret", "not-the-secret-at-all" } };
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.ReplicateAsync(new ReplicateRequest(), wrong).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);

        var right = new Metadata { { "x-logstream-cluster-secret", NodeProcess.DefaultClusterSecret } };
        var reply = await client.ReadAsync(new ReadRequest { Limit = 1 }, right);
        Assert.Equal("node-1", reply.NodeId);
    }
}
