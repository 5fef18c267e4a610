using LogStream.Storage;

namespace LogStream.Storage.Tests;

/// <summary>
/// What every <see cref="ILogStore"/> must do, whatever keeps the data. An implementation's test class inherits this and
/// says how to open a store and how to restart it on the same data.
/// </summary>
public abstract class LogStoreContractTests : IAsyncLifetime
{
    /// <summary>Opens a store on empty data (first call) or the current one.</summary>
    protected abstract Task<ILogStore> OpenAsync();

    /// <summary>Closes the store and opens it again on the same data, as a node restart does.</summary>
    protected abstract Task<ILogStore> RestartAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task AppendedRecordsComeBackFromQueriesNewestFirst()
    {
        var store = await OpenAsync();
        var records = Enumerable.Range(0, 10).Select(i => Records.Make($"r{i}", Records.Base.AddMinutes(i))).ToList();
        var result = await store.AppendAsync(records);

        Assert.Equal(10, result.Added);
        var found = await store.QueryAsync(new LogQuery()).ToListAsync();
        Assert.Equal(records.AsEnumerable().Reverse(), found);
    }

    [Fact]
    public async Task TheSameIdIsStoredOnceAlsoAcrossRestarts()
    {
        var store = await OpenAsync();
        var a = Records.Make("a");
        var first = await store.AppendAsync([a, Records.Make("b"), a]);
        Assert.Equal([AppendStatus.Added, AppendStatus.Added, AppendStatus.AlreadyPresent], first.Statuses);

        store = await RestartAsync();
        var second = await store.AppendAsync([a, Records.Make("c")]);
        Assert.Equal([AppendStatus.AlreadyPresent, AppendStatus.Added], second.Statuses);
        Assert.Equal(["a", "b", "c"], (await store.ReadEverythingAsync()).Select(r => r.Id).Order());
    }

    [Fact]
    public async Task QueryFiltersCombine()
    {
        var store = await OpenAsync();
        await store.AppendAsync([
            Records.Make("1", Records.Base.AddMinutes(1), LogSeverity.Error, "checkout", "Payment DECLINED"),
            Records.Make("2", Records.Base.AddMinutes(2), LogSeverity.Warn, "checkout", "payment slow"),
            Records.Make("3", Records.Base.AddMinutes(3), LogSeverity.Fatal, "checkout", "payment gateway down"),
            Records.Make("4", Records.Base.AddMinutes(4), LogSeverity.Error, "search", "payment index stale"),
            Records.Make("5", Records.Base.AddMinutes(5), LogSeverity.Error, "checkout", "cart empty"),
        ]);

        async Task<string[]> Ids(LogQuery query) => (await store.QueryAsync(query).ToListAsync()).Select(r => r.Id).ToArray();
        Assert.Equal(["5", "4", "1"], await Ids(new LogQuery { Level = LogSeverity.Error }));
        Assert.Equal(["5", "4", "3", "1"], await Ids(new LogQuery { MinLevel = LogSeverity.Error }));
        Assert.Equal(["3", "1"], await Ids(new LogQuery { MinLevel = LogSeverity.Error, Source = "checkout", Contains = "PAYMENT" }));
        Assert.Equal(["3", "2"], await Ids(new LogQuery { From = Records.Base.AddMinutes(2), To = Records.Base.AddMinutes(4) }));
        Assert.Equal(["5", "4"], await Ids(new LogQuery { Limit = 2 }));
        Assert.Equal(["4"], await Ids(new LogQuery { Partitions = new HashSet<string> { "source:search" } }));
        Assert.Equal(3, await store.CountAsync(new LogQuery { Level = LogSeverity.Error }));
    }

    [Fact]
    public async Task ReadRecordsReturnsOnlyTheAskedIds()
    {
        var store = await OpenAsync();
        await store.AppendAsync(Enumerable.Range(0, 10).Select(i => Records.Make($"r{i}")).ToList());
        var key = store.ListBuckets().Single().Key;
        var found = await store.ReadRecordsAsync(key, ["r1", "r9", "nope"]).ToListAsync();
        Assert.Equal(["r1", "r9"], found.Select(r => r.Id).Order());
        Assert.Empty(await store.ReadRecordsAsync(new BucketKey("source:none", Records.Base), ["r1"]).ToListAsync());
    }

    [Fact]
    public async Task ReadEncodedRecordsReturnsTheAskedRecordsAsReplicationEncodesThem()
    {
        var store = await OpenAsync();
        var records = Enumerable.Range(0, 10).Select(i => Records.Make($"r{i}", attributes: [new("n", $"{i}")])).ToList();
        await store.AppendAsync(records);
        var key = store.ListBuckets().Single().Key;

        var found = await store.ReadEncodedRecordsAsync(key, new[] { "r2", "r7", "nope" }.Select(Records.Hash).ToList()).ToListAsync();

        Assert.Equal(
            new[] { records[2], records[7] }.Select(r => Convert.ToHexString(LogRecordCodec.Encode(r))).Order(),
            found.Select(Convert.ToHexString).Order());
        Assert.Empty(await store.ReadEncodedRecordsAsync(key, []).ToListAsync());
    }

    [Fact]
    public async Task DigestsCarryTheCanonicalContentHash()
    {
        var store = await OpenAsync();
        var record = Records.Make("a", attributes: [new("z", "1"), new("a", "2")]);
        await store.AppendAsync([record]);
        var digest = Assert.Single(store.GetDigests(store.Partitioner.Place(record)));
        Assert.Equal(RecordDigest.Of("a", LogRecordCodec.ComputeContentHash(record)), digest);
        Assert.Empty(store.GetDigests(new BucketKey("source:nowhere", Records.Base)));
    }

    [Fact]
    public async Task RemovedRecordsAreGoneAndCanComeBack()
    {
        var store = await OpenAsync();
        await store.AppendAsync([Records.Make("a"), Records.Make("b")]);
        var key = store.ListBuckets().Single().Key;
        Assert.Equal([Records.Hash("a")], (await store.RemoveAsync(key, ["a", "x"])).Select(d => d.IdHash));
        Assert.Empty(await store.RemoveAsync(key, ["a"]));
        store = await RestartAsync();
        Assert.Equal(["b"], (await store.ReadEverythingAsync()).Select(r => r.Id));
        Assert.Equal(AppendStatus.Added, (await store.AppendAsync([Records.Make("a")])).Statuses[0]);
    }

    [Fact]
    public async Task DroppedBucketsAreGoneAlsoAfterARestart()
    {
        var store = await OpenAsync();
        await store.AppendAsync([Records.Make("a", Records.Base), Records.Make("b", Records.Base.AddHours(1))]);
        Assert.True(await store.DropBucketAsync(new BucketKey("source:checkout", Records.Base)));
        Assert.False(await store.DropBucketAsync(new BucketKey("source:checkout", Records.Base)));
        store = await RestartAsync();
        Assert.Equal(["b"], (await store.ReadEverythingAsync()).Select(r => r.Id));
        Assert.Equal(AppendStatus.Added, (await store.AppendAsync([Records.Make("a", Records.Base)])).Statuses[0]);
    }

    [Fact]
    public async Task AnEncodedBatchStoresTheSameRecordsAsTheRecordsThemselves()
    {
        var store = await OpenAsync();
        var records = Enumerable.Range(0, 12)
            .Select(i => Records.Make($"e{i}", Records.Base.AddMinutes(50 + i), (LogSeverity)(i % 6), source: i % 3 == 0 ? "payments" : "checkout",
                attributes: i % 2 == 0 ? [new("region", "eu"), new("status", $"{500 + i}")] : null))
            .ToList();
        using var batch = EncodedBatch.FromRecords(records);

        var result = await store.AppendAsync(batch);

        Assert.Equal(12, result.Added);
        Assert.Equal(records.OrderByDescending(r => r.Timestamp), await store.QueryAsync(new LogQuery()).ToListAsync());
        Assert.Equal(records.Count, batch.Count);
        store = await RestartAsync();
        Assert.Equal(records.OrderBy(r => r.Id, StringComparer.Ordinal), (await store.ReadEverythingAsync()).OrderBy(r => r.Id, StringComparer.Ordinal));
    }

    [Fact]
    public async Task ASelectionOfAnEncodedBatchStoresOnlyThoseRecordsAndReportsInItsOrder()
    {
        var store = await OpenAsync();
        await store.AppendAsync([Records.Make("b")]);
        using var batch = EncodedBatch.FromRecords([Records.Make("a"), Records.Make("b"), Records.Make("c"), Records.Make("d")]);

        var result = await store.AppendAsync(batch, [3, 1, 0]);

        Assert.Equal([AppendStatus.Added, AppendStatus.AlreadyPresent, AppendStatus.Added], result.Statuses);
        Assert.Equal(["a", "b", "d"], (await store.ReadEverythingAsync()).Select(r => r.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ARecordReceivedEncodedIsStoredAsItsCanonicalEncoding()
    {
        var store = await OpenAsync();
        var record = Records.Make("x", attributes: [new("k", "v")]);
        var canonical = LogRecordCodec.Encode(record);
        // The same record with an overlong varint for the message length (0x80 0x00 style padding).
        var messageLengthAt = LogRecordCodec.FixedPrefixBytes + 1 + 1 + 1 + "checkout".Length;
        var padded = canonical[..messageLengthAt].Concat(new[] { (byte)(canonical[messageLengthAt] | 0x80), (byte)0 }).Concat(canonical[(messageLengthAt + 1)..]).ToArray();
        using var batch = new EncodedBatch();

        Assert.True(batch.TryAddEncoded(padded));
        Assert.False(batch.TryAddEncoded(canonical[..^1]));
        await store.AppendAsync(batch);

        Assert.Equal(canonical, batch.PayloadAt(0).ToArray());
        Assert.Equal([record], await store.ReadEverythingAsync());
    }

    [Fact]
    public async Task AnEmptyBatchIsANoOp()
    {
        var store = await OpenAsync();
        var result = await store.AppendAsync([]);
        Assert.Empty(result.Statuses);
        Assert.Empty(store.ListBuckets());
    }
}

/// <summary>The contract, run against the segment store on a temporary folder.</summary>
public sealed class SegmentLogStoreContractTests : LogStoreContractTests
{
    private readonly StoreHarness _harness = new();

    protected override async Task<ILogStore> OpenAsync() => _harness.Store ?? await _harness.OpenAsync();

    protected override async Task<ILogStore> RestartAsync() => await _harness.ReopenAsync();

    public override async Task DisposeAsync() => await _harness.DisposeAsync();
}
