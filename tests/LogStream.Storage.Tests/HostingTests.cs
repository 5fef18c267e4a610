using LogStream.Node;
using LogStream.Node.Storage;
using LogStream.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LogStream.Storage.Tests;

public class HostingTests
{
    private static IHost BuildHost(string dataDirectory, params (string Key, string Value)[] settings) => BuildHost(dataDirectory, null, settings);

    private static IHost BuildHost(string dataDirectory, TimeProvider? time, params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder();
        if (time is not null)
            builder.Services.AddSingleton(time);
        builder.Configuration.AddInMemoryCollection(
            new[] { ("LogStream:DataDirectory", dataDirectory) }.Concat(settings).Select(s => new KeyValuePair<string, string?>(s.Item1, s.Item2)));
        builder.Services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.SectionName);
        builder.AddLogStorage();
        return builder.Build();
    }

    [Theory]
    [InlineData("LogStream:Storage:Partitioning", "hash")]
    [InlineData("LogStream:Storage:BucketWidth", "00:00:30")]
    [InlineData("LogStream:Storage:BucketWidth", "01:00:30")]
    [InlineData("LogStream:Storage:Durability", "never")]
    [InlineData("LogStream:Storage:FsyncInterval", "00:00:00")]
    [InlineData("LogStream:Storage:Retention", "00:10:00")]
    [InlineData("LogStream:Storage:SealGrace", "-00:01:00")]
    [InlineData("LogStream:Storage:ResealFraction", "1.5")]
    [InlineData("LogStream:Storage:MaintenanceInterval", "00:00:00")]
    [InlineData("LogStream:Storage:SealedBlockBytes", "10")]
    [InlineData("LogStream:Storage:CompressionLevel", "30")]
    [InlineData("LogStream:Storage:MaxSegmentBytes", "1000")]
    [InlineData("LogStream:Storage:MaxRecordBytes", "100000000")]
    [InlineData("LogStream:Storage:MemoryBudgetBytes", "1000")]
    [InlineData("LogStream:Storage:IndexCacheBytes", "1000")]
    [InlineData("LogStream:Storage:VerifyBytesPerSecond", "-1")]
    public async Task BadStorageOptionsStopTheNodeNamingTheKey(string key, string value)
    {
        using var directory = new TempDirectory();
        using var host = BuildHost(directory.Path, (key, value));
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(key, string.Join(" ", ex.Failures));
    }

    [Fact]
    public async Task TheHostOpensTheStoreAtStartAndClosesItAtStop()
    {
        using var directory = new TempDirectory();
        using (var host = BuildHost(directory.Path, ("LogStream:Storage:Partitioning", "source+time")))
        {
            await host.StartAsync();
            var store = host.Services.GetRequiredService<ILogStore>();
            Assert.Equal(PartitioningStrategy.SourceAndTime, store.Partitioner.Strategy);
            Assert.Same(store.Partitioner, host.Services.GetRequiredService<Partitioner>());
            await store.AppendAsync([Records.Make("a", DateTimeOffset.UtcNow)]);
            await host.Services.GetRequiredService<StorageMaintenanceService>().TickAsync(CancellationToken.None);
            await host.StopAsync();
        }
        Assert.True(Directory.Exists(Path.Combine(directory.Path, StorageHostingExtensions.SegmentsFolder)));

        using var again = BuildHost(directory.Path, ("LogStream:Storage:Partitioning", "source+time"));
        await again.StartAsync();
        Assert.Single(await again.Services.GetRequiredService<ILogStore>().ReadEverythingAsync());
        await again.StopAsync();
    }

    [Fact]
    public async Task TheMaintenanceTimerRunsOnTheInjectedClock()
    {
        using var directory = new TempDirectory();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Records.Base.AddMinutes(30));
        using var host = BuildHost(directory.Path, time, ("LogStream:Storage:Retention", "02:00:00"), ("LogStream:Storage:MaintenanceInterval", "00:01:00"));
        await host.StartAsync();
        var store = host.Services.GetRequiredService<ILogStore>();
        await store.AppendAsync([Records.Make("a", Records.Base)]);

        time.Advance(TimeSpan.FromHours(3));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (store.ListBuckets().Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the maintenance timer did not drop the expired bucket within 10 s of the clock passing retention");
            await Task.Delay(10);
        }
        await host.StopAsync();
    }

    [Fact]
    public async Task OverItsMemoryBudgetTheNodeReportsDegradedNamingTheLargestStructures()
    {
        using var directory = new TempDirectory();
        using var host = BuildHost(directory.Path, ("LogStream:Storage:MemoryBudgetBytes", $"{32 * 1024 * 1024}"),
            ("LogStream:Storage:IndexCacheBytes", $"{4 * 1024 * 1024}"));
        await host.StartAsync();
        var store = host.Services.GetRequiredService<SegmentLogStore>();
        await store.AppendAsync(Enumerable.Range(0, 20_000).Select(i => Records.Make($"r{i}", DateTimeOffset.UtcNow)).ToList());
        var check = ActivatorUtilities.CreateInstance<StorageHealthCheck>(host.Services);
        var context = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext();

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await check.CheckHealthAsync(context)).Status);

        // Another component's structure grows past the budget (a Merkle tree per bucket, say).
        host.Services.GetRequiredService<MemoryLedger>().Register("merkle_trees", () => 40L * 1024 * 1024);
        var degraded = await check.CheckHealthAsync(context);

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, degraded.Status);
        Assert.StartsWith("memory:", degraded.Description);
        Assert.Contains("merkle_trees 40.0 MiB", degraded.Description);
        Assert.Contains("record_entries", degraded.Description);
        Assert.Contains("1 buckets are open with 20000 records", degraded.Description);
        Assert.Contains("LogStream:Storage:MemoryBudgetBytes", degraded.Description);
        await host.StopAsync();
    }

    [Fact]
    public void TheNodeRegistersTheStorageEngine()
    {
        using var directory = new TempDirectory();
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LogStream:NodeId"] = "node-0",
            ["LogStream:DataDirectory"] = directory.Path,
            ["ConnectionStrings:redis"] = "127.0.0.1:1",
            ["LogStream:Security:ClusterSecret"] = "storage-hosting-test-secret",
        });
        builder.AddLogStreamNode();
        using var app = builder.Build();
        Assert.IsType<SegmentLogStore>(app.Services.GetRequiredService<ILogStore>());
        Assert.Contains(app.Services.GetServices<IHostedService>(), s => s is StorageMaintenanceService);
    }
}
