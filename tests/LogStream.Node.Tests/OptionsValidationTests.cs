using LogStream.Node.Membership;
using LogStream.Node.Repair;
using LogStream.Node.Ring;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Tests;

public sealed class OptionsValidationTests
{
    private static string Failure<TOptions>(Dictionary<string, string?> settings, string section) where TOptions : class
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateDataAnnotations();
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TOptions>>().Value);
        return error.Message;
    }

    [Fact]
    public void AMissingNodeIdIsRejectedNamingTheKey()
    {
        var message = Failure<NodeOptions>(new() { ["LogStream:DataDirectory"] = "/data" }, NodeOptions.SectionName);
        Assert.Contains("LogStream:NodeId is required", message);
    }

    [Fact]
    public void ANodeIdThatIsNotADnsLabelIsRejectedNamingTheKey()
    {
        var message = Failure<NodeOptions>(new() { ["LogStream:NodeId"] = "Node_0!", ["LogStream:DataDirectory"] = "/data" }, NodeOptions.SectionName);
        Assert.Contains("LogStream:NodeId must be a DNS label", message);
    }

    [Fact]
    public void AMissingDataDirectoryIsRejectedNamingTheKey()
    {
        var message = Failure<NodeOptions>(new() { ["LogStream:NodeId"] = "node-0" }, NodeOptions.SectionName);
        Assert.Contains("LogStream:DataDirectory is required", message);
    }

    [Fact]
    public void ADownTimeoutShorterThanTheSuspectTimeoutIsRejectedNamingTheKey()
    {
        var message = Failure<MembershipOptions>(new()
        {
            ["LogStream:Membership:SuspectAfter"] = "00:00:05",
            ["LogStream:Membership:DownAfter"] = "00:00:03",
        }, MembershipOptions.SectionName);
        Assert.Contains("LogStream:Membership:DownAfter must be longer than SuspectAfter", message);
    }

    [Fact]
    public void AZeroReplicationFactorIsRejectedNamingTheKey()
    {
        var message = Failure<RingOptions>(new() { ["LogStream:Ring:ReplicationFactor"] = "0" }, RingOptions.SectionName);
        Assert.Contains("LogStream:Ring:ReplicationFactor must be between 1 and 9", message);
    }

    [Fact]
    public void ARepairNiceValueOutsideZeroToNineteenIsRejectedNamingTheKey()
    {
        var message = Failure<RepairOptions>(new() { ["LogStream:Repair:Nice"] = "20" }, RepairOptions.SectionName);
        Assert.Contains("LogStream:Repair:Nice must be between 0 and 19", message);
    }
}
