using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Garnet;

namespace LogStream.AppHost;

/// <summary>Where the membership Redis comes from, and why.</summary>
public enum RedisSource
{
    /// <summary><c>ConnectionStrings:redis</c> is configured: use it as is.</summary>
    ConnectionString,

    /// <summary>A healthy container engine answered: Aspire's Redis container.</summary>
    Container,

    /// <summary><c>redis-server</c> is on PATH: run it as an executable resource.</summary>
    LocalRedisServer,

    /// <summary>Nothing else: an embedded Garnet server (a RESP server in this process).</summary>
    EmbeddedGarnet,
}

/// <summary>
/// Picks the membership Redis so that a fresh machine needs nothing but the .NET SDK:
/// explicit connection string → container where Docker answers → redis-server on PATH → embedded Garnet.
/// </summary>
public static class MembershipRedis
{
    public const string ResourceName = "redis";

    public static IResourceBuilder<IResourceWithConnectionString> AddMembershipRedis(
        this IDistributedApplicationBuilder builder, AppHostSettings settings)
    {
        var (source, reason) = Choose(builder.Configuration);
        Console.WriteLine($"[logstream] membership Redis: {Describe(source)} — {reason}");

        switch (source)
        {
            case RedisSource.ConnectionString:
                return builder.AddConnectionString(ResourceName);

            case RedisSource.Container:
                return builder.AddRedis(ResourceName);

            case RedisSource.LocalRedisServer:
                return builder.AddRedisServer(ResourceName, settings.RedisPort ?? FreeTcpPort(), Path.Combine(settings.DataRoot, "redis"));

            default:
                var port = settings.RedisPort ?? FreeTcpPort();
                builder.Services.AddHostedService(_ => new EmbeddedGarnet(port));
                return builder.AddConnectionString(ResourceName, ReferenceExpression.Create($"127.0.0.1:{port.ToString()}"));
        }
    }

    public static (RedisSource Source, string Reason) Choose(IConfiguration configuration)
    {
        if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString(ResourceName)))
            return (RedisSource.ConnectionString, "ConnectionStrings:redis is set");
        if (ContainerEngineAnswers(out var engineReason))
            return (RedisSource.Container, engineReason);
        if (FindOnPath("redis-server") is { } redisServer)
            return (RedisSource.LocalRedisServer, $"no container engine ({engineReason}); found {redisServer}");
        return (RedisSource.EmbeddedGarnet, $"no container engine ({engineReason}) and no redis-server on PATH");
    }

    private static string Describe(RedisSource source) => source switch
    {
        RedisSource.ConnectionString => "the configured connection string",
        RedisSource.Container => "a Redis container",
        RedisSource.LocalRedisServer => "a local redis-server process",
        _ => "an embedded Garnet server",
    };

    private static (bool Answers, string Reason)? _engine;

    /// <summary>Whether a Docker engine answers <c>docker info</c> (asked once per app host run).</summary>
    internal static bool ContainerEngineAnswers(out string reason)
    {
        _engine ??= ProbeContainerEngine();
        reason = _engine.Value.Reason;
        return _engine.Value.Answers;
    }

    private static (bool, string) ProbeContainerEngine() => (ProbeContainerEngine(out var reason), reason);

    private static bool ProbeContainerEngine(out string reason)
    {
        var docker = FindOnPath("docker");
        if (docker is null)
        {
            reason = "docker is not installed";
            return false;
        }
        try
        {
            using var process = Process.Start(new ProcessStartInfo(docker, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                process.Kill(entireProcessTree: true);
                reason = "docker info did not answer within 5 s";
                return false;
            }
            var version = process.StandardOutput.ReadToEnd().Trim();
            reason = process.ExitCode == 0 && version.Length > 0
                ? $"docker engine {version} answers"
                : "docker is installed but no engine answers";
            return process.ExitCode == 0 && version.Length > 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            reason = $"docker could not run: {ex.Message}";
            return false;
        }
    }

    internal static string? FindOnPath(string program)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    internal static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Garnet in the app host's own process, for machines with neither Docker nor redis-server.</summary>
    private sealed class EmbeddedGarnet(int port) : IHostedService, IDisposable
    {
        private GarnetServer? _server;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _server = new GarnetServer(["--port", port.ToString(), "--bind", "127.0.0.1"]);
            _server.Start();
            Console.WriteLine($"[logstream] embedded Garnet listening on 127.0.0.1:{port}");
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            Dispose();
            return Task.CompletedTask;
        }

        public void Dispose()
        {
            _server?.Dispose();
            _server = null;
        }
    }
}
