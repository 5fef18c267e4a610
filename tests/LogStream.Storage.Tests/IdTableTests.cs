using System.Collections.Concurrent;
using System.Text;
using CsCheck;
using LogStream.Storage;

namespace LogStream.Storage.Tests;

/// <summary>
/// The id table of open buckets (64-bit id hash → ordinal, extendible hashing over small chunks): every distinct id
/// stored once and found again, whatever the hashes do, through growth and splits.
/// </summary>
public class IdTableTests
{
    /// <summary>Ids and their hashes, as the store's record list would hold them; the table is confirmed against the ids.</summary>
    private sealed class IdRecords(Func<string, ulong> hash) : IDisposable
    {
        public void Dispose() => Table.Dispose();

        private readonly List<string> _ids = [];
        private readonly List<ulong> _hashes = [];

        public IdTable Table => field ??= new IdTable(ordinal => _hashes[ordinal]);

        /// <summary>Adds the id unless present (confirmed by comparing ids, as the store compares id bytes). True when added.</summary>
        public bool TryAdd(string id)
        {
            if (Contains(id))
                return false;
            var h = hash(id);
            _ids.Add(id);
            _hashes.Add(h);
            Table.Add(h, _ids.Count - 1);
            return true;
        }

        public bool Contains(string id)
        {
            foreach (var ordinal in Table.Find(hash(id)))
            {
                if (_ids[ordinal] == id)
                    return true;
            }
            return false;
        }

        public bool Remove(string id)
        {
            var h = hash(id);
            foreach (var ordinal in Table.Find(h))
            {
                if (_ids[ordinal] == id)
                    return Table.Remove(h, ordinal);
            }
            return false;
        }
    }

    private static ulong RealHash(string id) => RecordIdHash.Of(id);

    [Fact]
    public void ForcedHashCollisionsStillStoreEachDistinctIdOnceAndFindEveryId()
    {
        // Only four hash values for 3000 ids: every probe run is long and no split can separate them.
        using var records = new IdRecords(id => (ulong)(Encoding.UTF8.GetByteCount(id) % 4) * 0x9E3779B97F4A7C15UL);
        var ids = Enumerable.Range(0, 3000).Select(i => $"id-{i}-{new string('x', i % 7)}").ToList();

        Assert.All(ids, id => Assert.True(records.TryAdd(id), $"{id} is new"));
        Assert.All(ids, id => Assert.False(records.TryAdd(id), $"{id} is stored once"));
        Assert.All(ids, id => Assert.True(records.Contains(id)));
        Assert.False(records.Contains("id-absent"));
        Assert.Equal(3000, records.Table.Count);
    }

    [Fact]
    public void CollidingTopBitsGrowAChunkInsteadOfSplittingForever()
    {
        // Hashes equal in their top 40 bits: splits cannot separate them, so the chunk must grow (and stay correct).
        using var records = new IdRecords(id => (RealHash(id) & 0xFFFFFF) | 0xABCDEF0123000000UL);
        var ids = Enumerable.Range(0, 20_000).Select(i => $"c{i}").ToList();
        foreach (var id in ids)
            Assert.True(records.TryAdd(id));
        Assert.All(ids, id => Assert.True(records.Contains(id)));
        Assert.Equal(20_000, records.Table.Count);
    }

    [Fact]
    public void GrowthSplitsChunksAndKeepsTheTableWithinAFewBytesPerRecord()
    {
        using var records = new IdRecords(RealHash);
        const int count = 1_000_000;
        for (var i = 0; i < count; i++)
            Assert.True(records.TryAdd($"r{i}"));
        for (var i = 0; i < count; i += 997)
            Assert.True(records.Contains($"r{i}"));
        Assert.False(records.Contains("r-none"));
        // 5 bytes a slot at 38-75 % load, plus the directory.
        Assert.InRange(records.Table.Bytes / (double)count, 5, 14);
    }

    [Fact]
    public void RemovedEntriesAreGoneAndTheRestStayFindable()
    {
        using var records = new IdRecords(id => RealHash(id) & 0xFFFF_0000_0000_00FFUL);
        var ids = Enumerable.Range(0, 5000).Select(i => $"x{i}").ToList();
        ids.ForEach(id => records.TryAdd(id));

        foreach (var id in ids.Where((_, i) => i % 3 == 0))
            Assert.True(records.Remove(id));

        Assert.All(ids.Select((id, i) => (id, i)), item => Assert.Equal(item.i % 3 != 0, records.Contains(item.id)));
        Assert.Equal(5000 - 1667, records.Table.Count);
    }

    [Fact]
    public void RandomHistoriesAgreeWithASet()
    {
        // Ids drawn from a small space (so they repeat), hashed into few values some of the time.
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 400].Array[1, 3000]).Sample((hashing, picks) =>
        {
            Func<string, ulong> hash = hashing switch
            {
                0 => RealHash,
                1 => id => RealHash(id) % 7,
                2 => id => RealHash(id) | 0xFFFF_FFFF_0000_0000UL,
                _ => id => RealHash(id) & 0xFF00_0000_0000_00FFUL,
            };
            using var records = new IdRecords(hash);
            var model = new HashSet<string>();
            foreach (var pick in picks)
            {
                var id = $"p{pick}";
                if (records.TryAdd(id) != model.Add(id))
                    return false;
            }
            return model.All(records.Contains) && records.Table.Count == model.Count && !records.Contains("p-1");
        }, iter: 200);
    }

    [Fact]
    public async Task ConcurrentAppendsToManyBucketsLoseNothing()
    {
        // The store's tables are per bucket, each behind its bucket's gate: many writers, many buckets, growth everywhere.
        await using var harness = new StoreHarness(memory: true);
        var store = await harness.OpenAsync();
        var sources = Enumerable.Range(0, 16).Select(i => $"svc-{i}").ToArray();
        var expected = new ConcurrentDictionary<string, byte>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            var random = new Random(writer);
            for (var batch = 0; batch < 40; batch++)
            {
                // Ids repeat across writers and batches: each must be stored once.
                var records = Enumerable.Range(0, 250).Select(_ =>
                {
                    var n = random.Next(60_000);
                    return Records.Make($"id-{n}", Records.Base.AddSeconds(n % 3600), source: sources[n % sources.Length]);
                }).ToList();
                await store.AppendAsync(records);
                foreach (var record in records)
                    expected.TryAdd(record.Id, 0);
            }
        }))).WaitAsync(TimeSpan.FromMinutes(2));

        var stored = await store.ReadEverythingAsync();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), stored.Select(r => r.Id).Order(StringComparer.Ordinal));
        store = await harness.ReopenAsync();
        Assert.All((await store.AppendAsync(stored)).Statuses, status => Assert.Equal(AppendStatus.AlreadyPresent, status));
        Assert.Equal(stored.Count, (await store.ReadEverythingAsync()).Count);
    }
}
