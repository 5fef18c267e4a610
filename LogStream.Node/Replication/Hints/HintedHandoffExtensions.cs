using System.Runtime.CompilerServices;
using LogStream.Node.Membership;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

[assembly: InternalsVisibleTo("LogStream.Hints.Tests")]

namespace LogStream.Node.Replication.Hints;

public static class HintedHandoffExtensions
{
    /// <summary>Name of the folder under <c>LogStream:DataDirectory</c> that holds the hints.</summary>
    public const string HintsFolder = "hints";

    /// <summary>
    /// Registers hinted handoff: <see cref="HintOptions"/> (section <c>LogStream:Hints</c>, validated at start),
    /// <see cref="HintLog"/> as <see cref="IHintStore"/>, <see cref="HintMetrics"/>, and <see cref="HintedHandoffService"/>
    /// (opens the log at start, replays and expires on its timer, closes the log at stop). The replay goes through the
    /// <see cref="IHintDelivery"/> registered elsewhere (the replica client); without one hints are kept but not replayed.
    /// Needs <see cref="NodeOptions"/> (the data directory) and uses the registered <see cref="MembershipView"/>.
    /// </summary>
    public static TBuilder AddHintedHandoff<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddOptions<HintOptions>().BindConfiguration(HintOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<HintMetrics>();
        services.TryAddSingleton<MembershipView>();
        services.TryAddSingleton(sp => new HintLog(
            sp.GetRequiredService<IOptions<NodeOptions>>().Value.DataFolder(HintsFolder),
            sp.GetRequiredService<IOptions<HintOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<HintMetrics>(),
            sp.GetRequiredService<ILogger<HintLog>>()));
        services.TryAddSingleton<IHintStore>(sp => sp.GetRequiredService<HintLog>());
        services.TryAddSingleton<HintedHandoffService>();
        services.AddHostedService(sp => sp.GetRequiredService<HintedHandoffService>());
        return builder;
    }
}
