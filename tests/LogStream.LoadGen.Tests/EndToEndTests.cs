using System.Globalization;
using System.Text.Json;

namespace LogStream.LoadGen.Tests;

/// <summary>The whole tool, in process, against <see cref="FakeLogStreamCluster"/> on loopback ports of its own.</summary>
public sealed class EndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private FakeLogStreamCluster _cluster = null!;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "logstream-loadgen-tests", Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _cluster = await FakeLogStreamCluster.StartAsync(coordinators: 3);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private sealed record Run(int ExitCode, string Table, string Progress, JsonElement Json);

    private async Task<Run> RunAsync(params string[] args)
    {
        var json = Path.Combine(_directory, $"{Guid.NewGuid():N}.json");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var deadline = new CancellationTokenSource(Deadline);
        var code = await LoadGenCommand.RunAsync([.. args, "--json", json], stdout, stderr, deadline.Token);
        Assert.False(deadline.IsCancellationRequested, $"the run did not finish within {Deadline}");
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        return new Run(code, stdout.ToString(), stderr.ToString(), document.RootElement.Clone());
    }

    // No query phase unless a test asks for one.
    private string[] Common(params string[] more) =>
        ["--nodes", _cluster.NodesArgument, "--seed", "11", "--run-id", "e2e", .. more.Contains("--queries") ? [] : new[] { "--queries", "0" }, .. more];

    [Fact]
    public async Task IngestsEveryRecordThroughEveryCoordinatorAndVerifiesTheErrorRecords()
    {
        var run = await RunAsync(Common("--records", "20000", "--batch", "100", "--concurrency", "6", "--warmup", "600", "--verify"));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(20_600, _cluster.Records.Count);
        var ingest = run.Json.GetProperty("ingest");
        Assert.Equal(20_000, ingest.GetProperty("records_acked").GetInt64());
        Assert.Equal(200, ingest.GetProperty("requests_ok").GetInt64());
        Assert.Equal(200, ingest.GetProperty("latency").GetProperty("count").GetInt64());
        Assert.True(ingest.GetProperty("records_per_second").GetDouble() > 0);
        Assert.True(ingest.GetProperty("latency").GetProperty("p99_ms").GetDouble() >= ingest.GetProperty("latency").GetProperty("p50_ms").GetDouble());
        Assert.Equal(0, ingest.GetProperty("accepted_mismatches").GetInt64());
        Assert.Empty(ingest.GetProperty("errors").EnumerateObject());
        Assert.Equal(600, run.Json.GetProperty("warmup").GetProperty("records_acked").GetInt64());

        // Round-robin: the 206 requests spread evenly over the three coordinators.
        Assert.Equal(3, _cluster.WritesByPort.Count);
        Assert.All(_cluster.WritesByPort.Values, n => Assert.InRange(n, 68, 69));
        Assert.Equal(["QUORUM"], _cluster.WriteConsistencies.Keys);
        Assert.Equal(["application/json"], _cluster.ContentTypes.Keys);

        var verify = run.Json.GetProperty("verify");
        Assert.True(verify.GetProperty("ok").GetBoolean());
        var expectedErrors = _cluster.Records.Count(r => r.Level == "ERROR");
        Assert.Equal(expectedErrors, verify.GetProperty("expected_error_records").GetInt64());
        Assert.Equal(3, verify.GetProperty("nodes").GetArrayLength());
        Assert.All(verify.GetProperty("nodes").EnumerateArray(), n =>
        {
            Assert.Equal(expectedErrors, n.GetProperty("found").GetInt64());
            Assert.Equal(0, n.GetProperty("missing").GetInt64());
        });
        Assert.Contains("Verify", run.Table, StringComparison.Ordinal);
        Assert.Contains("OK, every acked ERROR record came back", run.Table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheTableAndTheJsonCarryTheSameNumbers()
    {
        var run = await RunAsync(Common("--records", "3000", "--batch", "50", "--concurrency", "4", "--queries", "20"));

        var ingest = run.Json.GetProperty("ingest");
        var latency = ingest.GetProperty("latency");
        Assert.Contains(ingest.GetProperty("records_acked").GetInt64().ToString("N0", CultureInfo.InvariantCulture), run.Table, StringComparison.Ordinal);
        Assert.Contains(ingest.GetProperty("records_per_second").GetDouble().ToString("N0", CultureInfo.InvariantCulture), run.Table, StringComparison.Ordinal);
        foreach (var p in new[] { "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms" })
            Assert.Contains(latency.GetProperty(p).GetDouble().ToString("F3", CultureInfo.InvariantCulture), run.Table, StringComparison.Ordinal);
        Assert.Contains(run.Json.GetProperty("generator").GetProperty("records").GetInt64().ToString("N0", CultureInfo.InvariantCulture), run.Table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NdjsonSingleRecordRequestsArriveIntact()
    {
        var run = await RunAsync(Common("--records", "400", "--batch", "1", "--concurrency", "16", "--format", "ndjson", "--consistency", "ONE", "--warmup", "0"));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(400, _cluster.WriteRequests);
        Assert.Equal(["application/x-ndjson"], _cluster.ContentTypes.Keys);
        Assert.Equal(["ONE"], _cluster.WriteConsistencies.Keys);
        Assert.Equal(Enumerable.Range(0, 400).Select(i => $"e2e-{i}").Order(StringComparer.Ordinal), _cluster.Records.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal(400, run.Json.GetProperty("ingest").GetProperty("latency").GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task VerifyDetectsADeliberatelyDroppedErrorRecord()
    {
        // The fake acknowledges this record but never stores it: a lost write that only reading back can reveal.
        string? dropped = null;
        _cluster.DropWhen = r =>
        {
            if (r.Level != "ERROR" || Interlocked.CompareExchange(ref dropped, r.Id, null) is not null)
                return false;
            return true;
        };

        var run = await RunAsync(Common("--records", "5000", "--batch", "250", "--concurrency", "4", "--verify"));

        Assert.NotNull(dropped);
        Assert.Equal(1, run.ExitCode);
        var verify = run.Json.GetProperty("verify");
        Assert.False(verify.GetProperty("ok").GetBoolean());
        Assert.All(verify.GetProperty("nodes").EnumerateArray(), n =>
        {
            Assert.False(n.GetProperty("ok").GetBoolean());
            Assert.Equal(1, n.GetProperty("missing").GetInt64());
            Assert.EndsWith("/" + dropped, n.GetProperty("missing_sample")[0].GetString(), StringComparison.Ordinal);
        });
        Assert.Contains("FAILED", run.Table, StringComparison.Ordinal);
        Assert.Contains(dropped!, run.Table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyReportsErrorRecordsOfThisRunThatWereNeverSent()
    {
        var foreign = new FakeRecord("e2e-999999", DateTimeOffset.UtcNow.AddDays(1), "ERROR", "checkout", "planted", null);
        var run = await RunAsync(Common("--records", "2000", "--batch", "100", "--verify", "--start-time", "2026-11-26T15:00:00Z"));
        Assert.Equal(0, run.ExitCode);

        // Plant a record with this run's prefix inside its time range, as a buggy node inventing or mislabelling one would.
        var planted = foreign with { Timestamp = new DateTimeOffset(2026, 11, 26, 15, 0, 0, TimeSpan.Zero).AddTicks(55) };
        await PostAsync(planted);
        var again = await RunAsync(Common("--records", "2000", "--batch", "100", "--verify", "--start-time", "2026-11-26T15:00:00Z"));

        Assert.Equal(1, again.ExitCode);
        Assert.All(again.Json.GetProperty("verify").GetProperty("nodes").EnumerateArray(), n =>
        {
            Assert.Equal(1, n.GetProperty("unexpected").GetInt64());
            Assert.Equal("checkout/e2e-999999", n.GetProperty("unexpected_sample")[0].GetString());
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task VerifyPagesThroughMoreErrorsThanTheNodeReturnsPerQuery(bool toInclusive)
    {
        _cluster.MaxLimit = 7; // far below --verify-page: the node caps it, and the verifier must not mistake that for the end
        _cluster.ToInclusive = toInclusive;

        var run = await RunAsync(Common("--records", "6000", "--batch", "500", "--sources", "2", "--error-rate", "0.05", "--verify", "--time-step", "1us"));

        Assert.Equal(0, run.ExitCode);
        var expected = _cluster.Records.Count(r => r.Level == "ERROR");
        Assert.True(expected > 200, $"only {expected} ERROR records");
        Assert.All(run.Json.GetProperty("verify").GetProperty("nodes").EnumerateArray(), n =>
        {
            Assert.Equal(expected, n.GetProperty("found").GetInt64());
            Assert.Equal(0, n.GetProperty("duplicates").GetInt64());
            Assert.True(n.GetProperty("queries").GetInt64() > expected / 7);
        });
    }

    [Fact]
    public async Task VerifyIgnoresOtherRunsRecordsInTheSameSourcesAndTimeRange()
    {
        var first = await RunAsync(["--nodes", _cluster.NodesArgument, "--run-id", "other", "--records", "3000", "--queries", "0", "--start-time", "2026-11-26T15:00:00Z"]);
        var second = await RunAsync(Common("--records", "3000", "--verify", "--start-time", "2026-11-26T15:00:00Z", "--time-step", "7us"));

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        Assert.True(second.Json.GetProperty("verify").GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task FailedWritesAreCountedByStatusCodeWhenThereAreNoRetries()
    {
        _cluster.FailNextWrites = 3;

        var run = await RunAsync(Common("--records", "2000", "--batch", "100", "--concurrency", "1", "--warmup", "0", "--verify"));

        Assert.Equal(3, run.ExitCode);
        var ingest = run.Json.GetProperty("ingest");
        Assert.Equal(3, ingest.GetProperty("errors").GetProperty("503").GetInt64());
        Assert.Equal(17, ingest.GetProperty("requests_ok").GetInt64());
        Assert.Equal(1700, ingest.GetProperty("records_acked").GetInt64());
        Assert.Equal(2000, ingest.GetProperty("records_sent").GetInt64());
        Assert.Contains("write quorum not met", ingest.GetProperty("error_samples")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("503: 3", run.Table, StringComparison.Ordinal);
        // The records of failed writes are not expected back, so the verification itself still passes.
        Assert.True(run.Json.GetProperty("verify").GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task RetriesResendTheSameIdsSoTransientFailuresLeaveNoGapsAndNoDuplicates()
    {
        _cluster.FailNextWrites = 3;

        var run = await RunAsync(Common("--records", "2000", "--batch", "100", "--concurrency", "2", "--warmup", "0", "--retries", "4", "--verify"));

        Assert.Equal(0, run.ExitCode);
        var ingest = run.Json.GetProperty("ingest");
        Assert.Empty(ingest.GetProperty("errors").EnumerateObject());
        Assert.Equal(3, ingest.GetProperty("retries").GetProperty("503").GetInt64());
        Assert.Equal(2000, ingest.GetProperty("records_acked").GetInt64());
        Assert.Equal(23, _cluster.WriteRequests);
        Assert.Equal(2000, _cluster.Records.Count);
        Assert.True(run.Json.GetProperty("verify").GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task TheQueryPhaseReportsLatencyPercentilesAndResultCountsForBothKinds()
    {
        var run = await RunAsync(Common("--records", "5000", "--batch", "500", "--queries", "40", "--query-concurrency", "3", "--query-limit", "25"));

        Assert.Equal(0, run.ExitCode);
        var queries = run.Json.GetProperty("queries").EnumerateArray().ToList();
        Assert.Equal(["level=ERROR", "level=ERROR&source=S"], queries.Select(q => q.GetProperty("kind").GetString()));
        Assert.All(queries, q =>
        {
            Assert.Equal(20, q.GetProperty("queries").GetInt64());
            Assert.Equal(20, q.GetProperty("ok").GetInt64());
            Assert.Equal(20, q.GetProperty("latency").GetProperty("count").GetInt64());
            Assert.True(q.GetProperty("latency").GetProperty("max_ms").GetDouble() > 0);
            Assert.Equal(0, q.GetProperty("filter_violations").GetInt64());
        });
        Assert.Equal(25, queries[0].GetProperty("results_max").GetInt64());
        Assert.Equal(25, queries[0].GetProperty("results_min").GetInt64());
        Assert.InRange(queries[1].GetProperty("results_mean").GetDouble(), 1, 25);
        Assert.Contains(_cluster.Queries, q => q.Contains("source=", StringComparison.Ordinal) && q.Contains("limit=25", StringComparison.Ordinal));
        Assert.Contains(_cluster.Queries, q => !q.Contains("source=", StringComparison.Ordinal) && q.Contains("level=ERROR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DurationModeIngestsUntilTheDeadlineAndVerifiesWhatWasSent()
    {
        var run = await RunAsync(Common("--duration", "1500ms", "--batch", "50", "--concurrency", "4", "--verify"));

        Assert.Equal(0, run.ExitCode);
        var ingest = run.Json.GetProperty("ingest");
        Assert.InRange(ingest.GetProperty("seconds").GetDouble(), 1.4, 10);
        Assert.True(ingest.GetProperty("records_acked").GetInt64() > 0);
        Assert.Equal(ingest.GetProperty("records_acked").GetInt64() + run.Json.GetProperty("warmup").GetProperty("records_acked").GetInt64(), _cluster.Records.Count);
        Assert.True(run.Json.GetProperty("generator").GetProperty("records").GetInt64() >= ingest.GetProperty("records_sent").GetInt64());
        Assert.True(run.Json.GetProperty("verify").GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task DryRunSendsNothingAndReportsTheGeneratorsOwnRate()
    {
        var run = await RunAsync(Common("--records", "50000", "--dry-run", "--verify"));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(0, _cluster.WriteRequests);
        Assert.Empty(_cluster.Queries);
        var generator = run.Json.GetProperty("generator");
        Assert.Equal(50_000, generator.GetProperty("records").GetInt64());
        Assert.True(generator.GetProperty("records_per_second").GetDouble() > 0);
        Assert.InRange(generator.GetProperty("mean_record_bytes").GetDouble(), 235, 265);
        Assert.False(run.Json.TryGetProperty("ingest", out _));
        Assert.Contains("dry run", run.Table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableNodeIsCountedAsAConnectionErrorNotACrash()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nobody listens there now

        var run = await RunAsync(["--nodes", $"http://127.0.0.1:{port}", "--records", "300", "--batch", "100", "--warmup", "0", "--queries", "2", "--timeout", "5s"]);

        Assert.Equal(3, run.ExitCode);
        Assert.Equal(3, run.Json.GetProperty("ingest").GetProperty("errors").GetProperty("connection_refused").GetInt64());
        Assert.Equal(0, run.Json.GetProperty("ingest").GetProperty("records_acked").GetInt64());
    }

    [Fact]
    public async Task ProgressGoesToStandardErrorAndQuietSilencesIt()
    {
        var loud = await RunAsync(Common("--records", "1000", "--batch", "100"));
        var quiet = await RunAsync(Common("--records", "1000", "--batch", "100", "--quiet"));

        Assert.Contains("ingest:", loud.Progress, StringComparison.Ordinal);
        Assert.Equal("", quiet.Progress);
        Assert.DoesNotContain("ingest:", loud.Table, StringComparison.Ordinal);
    }

    private async Task PostAsync(FakeRecord record)
    {
        using var http = new HttpClient();
        var body = JsonSerializer.Serialize(new[]
        {
            new { id = record.Id, timestamp = record.Timestamp.ToString("O", CultureInfo.InvariantCulture), level = record.Level, source = record.Source, message = record.Message },
        });
        using var response = await http.PostAsync(new Uri(_cluster.Nodes[0], "api/logs"), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }
}
