using System.Text.Json;
using System.Text.Json.Serialization;
using LogStream.Node.Api;
using LogStream.Node.Membership;
using LogStream.Node.Query;
using LogStream.Node.Repair;
using LogStream.Node.Replication;
using LogStream.Node.Replication.Hints;
using LogStream.Node.Ring;
using LogStream.Node.Storage;
using LogStream.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LogStream.Node;

public static class NodeHostingExtensions
{
    /// <summary>Connection-string name of the membership Redis (<c>ConnectionStrings:redis</c>).</summary>
    public const string RedisConnectionName = "redis";

    /// <summary>Registers every component of a storage node. Options are validated at start.</summary>
    public static WebApplicationBuilder AddLogStreamNode(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<NodeOptions>, RedisConnectionStringValidator>();
        services.AddOptions<MembershipOptions>().BindConfiguration(MembershipOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RingOptions>().BindConfiguration(RingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.DictionaryKeyPolicy = null;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        services.AddProblemDetails();

        builder.AddLogStorage();
        builder.AddMembership();
        services.AddSingleton<RingView>();
        builder.AddReplication();
        builder.AddHintedHandoff();
        builder.AddQueries();
        builder.AddRepair();
        builder.AddPublicApi();
        return builder;
    }

    private static void AddMembership(this WebApplicationBuilder builder)
    {
        // The shared connection; its own health check is off because an unreachable Redis makes the node
        // degraded, not unready (see MembershipHealthCheck). It never aborts on connect: it keeps retrying.
        builder.AddRedisClient(RedisConnectionName,
            settings => settings.DisableHealthChecks = true,
            options =>
            {
                options.AbortOnConnectFail = false;
                options.ConnectTimeout = 2000;
                options.AsyncTimeout = 2000;
                options.SyncTimeout = 2000;
                options.ReconnectRetryPolicy = new ExponentialRetry(250, 2000);
                options.ClientName = $"logstream-{builder.Configuration[$"{NodeOptions.SectionName}:NodeId"]}";
            });

        var services = builder.Services;
        services.AddSingleton<MembershipView>();
        services.AddSingleton<MembershipMetrics>();
        services.AddKubernetesZone();
        services.TryAddSingleton<IZoneResolver, ConfiguredZoneResolver>();
        services.AddSingleton<IMembershipStore>(sp => new RedisMembershipStore(
            () => sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IOptions<NodeOptions>>().Value.ClusterName));
        services.AddSingleton<MembershipAgent>();
        services.AddHostedService(sp => sp.GetRequiredService<MembershipAgent>());
        services.AddHealthChecks().AddCheck<MembershipHealthCheck>("membership");
    }

    /// <summary>Runs the node; a configuration error stops it at start with the offending key, exit code 2.</summary>
    public static int RunNode(this WebApplication app)
    {
        try
        {
            app.Run();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine($"LogStream node: invalid configuration: {string.Join(" ", ex.Failures)}");
            return 2;
        }
    }

    private sealed class RedisConnectionStringValidator(IConfiguration configuration) : IValidateOptions<NodeOptions>
    {
        public ValidateOptionsResult Validate(string? name, NodeOptions options) =>
            string.IsNullOrWhiteSpace(configuration.GetConnectionString(RedisConnectionName))
                ? ValidateOptionsResult.Fail(
                    "ConnectionStrings:redis is required: the Redis that holds membership (e.g. --ConnectionStrings:redis=localhost:6379).")
                : ValidateOptionsResult.Success;
    }
}
