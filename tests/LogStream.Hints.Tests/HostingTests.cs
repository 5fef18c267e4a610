using LogStream.Node;
using LogStream.Node.Membership;
using LogStream.Node.Replication.Hints;
using LogStream.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Hints.Tests;

public sealed class HostingTests
{
    private static IHost BuildHost(string dataDirectory, FakeTimeProvider? time = null, IHintDelivery? delivery = null,
        params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(
            new[] { ("LogStream:DataDirectory", dataDirectory) }.Concat(settings).Select(s => new KeyValuePair<string, string?>(s.Item1, s.Item2)));
        builder.Services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.SectionName);
        if (time is not null)
            builder.Services.AddSingleton<TimeProvider>(time);
        if (delivery is not null)
            builder.Services.AddSingleton(delivery);
        builder.AddHintedHandoff();
        return builder.Build();
    }

    [Theory]
    [InlineData("LogStream:Hints:Window", "00:00:00")]
    [InlineData("LogStream:Hints:ReplayInterval", "00:00:00")]
    [InlineData("LogStream:Hints:ReplayRecordsPerSecond", "0")]
    [InlineData("LogStream:Hints:ReplayBatchRecords", "0")]
    [InlineData("LogStream:Hints:MaxSegmentBytes", "100")]
    public async Task BadHintOptionsStopTheHostNamingTheKey(string key, string value)
    {
        using var directory = new TempDirectory();
        using var host = BuildHost(directory.Path, settings: (key, value));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(key, string.Join(" ", error.Failures));
    }

    [Fact]
    public async Task TheHostOpensTheLogReplaysOnItsTimerAndClosesTheLogAtStop()
    {
        using var directory = new TempDirectory();
        var time = new FakeTimeProvider(Records.Epoch);
        var delivery = new RecordingDelivery();
        using (var host = BuildHost(directory.Path, time, delivery))
        {
            await host.StartAsync();
            var store = host.Services.GetRequiredService<IHintStore>();
            Assert.IsType<HintLog>(store);
            await store.StoreAsync("node-1", Records.Many("r", 5), default);
            await store.StoreAsync("node-2", Records.Many("s", 2), default);
            Members.Publish(host.Services.GetRequiredService<MembershipView>(), time, ("node-1", MemberState.Up), ("node-2", MemberState.Down));

            time.Advance(TimeSpan.FromSeconds(1));
            await Wait.UntilAsync(() => store.PendingFor("node-1") == 0, TimeSpan.FromSeconds(10), "the timer's tick to replay node-1's hints");

            Assert.Equal(Records.Many("r", 5), delivery.Delivered("node-1"));
            Assert.Equal(2, store.PendingFor("node-2"));
            await host.StopAsync();
        }

        using var again = BuildHost(directory.Path, time, delivery);
        await again.StartAsync();
        Assert.Equal(new Dictionary<string, long> { ["node-2"] = 2 }, again.Services.GetRequiredService<IHintStore>().Pending);
        await again.StopAsync();
    }

    [Fact]
    public void TheNodeRegistersHintedHandoffWithTheReplicaClientAsItsDelivery()
    {
        using var directory = new TempDirectory();
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LogStream:NodeId"] = "node-0",
            ["LogStream:DataDirectory"] = directory.Path,
            ["ConnectionStrings:redis"] = "127.0.0.1:1",
            ["LogStream:Security:ClusterSecret"] = "hosting-test-cluster-secret",
        });
        builder.AddLogStreamNode();
        using var app = builder.Build();

        var log = Assert.IsType<HintLog>(app.Services.GetRequiredService<IHintStore>());
        Assert.IsType<LogStream.Node.Replication.ReplicaClient>(app.Services.GetRequiredService<IHintDelivery>());
        Assert.Equal(Path.Combine(directory.Path, HintedHandoffExtensions.HintsFolder), log.Directory);
        Assert.Contains(app.Services.GetServices<IHostedService>(), s => s is HintedHandoffService);
        Assert.Same(app.Services.GetRequiredService<MembershipView>(), app.Services.GetServices<MembershipView>().Single());
    }
}
