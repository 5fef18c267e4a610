using System.Net.Http.Json;
using System.Text.Json;

namespace LogStream.Testing;

/// <summary>How to start one storage node as a real process.</summary>
public sealed record NodeSpec(string NodeId, string DataDirectory, string RedisConnectionString)
{
    /// <summary>Public HTTP port; 0 lets the node pick a free one.</summary>
    public int Port { get; init; }

    /// <summary>Internal (replica gRPC) port; 0 picks a free one when the node starts (kept across restarts).</summary>
    public int InternalPort { get; init; }

    /// <summary>Shared by the nodes of one test cluster.</summary>
    public string ClusterSecret { get; init; } = NodeProcess.DefaultClusterSecret;

    /// <summary>Extra configuration, as <c>key=value</c> pairs (e.g. <c>LogStream:Membership:DownAfter</c>).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
}

/// <summary>A storage node running as its own process (<c>dotnet LogStream.Node.dll</c>), as in production.</summary>
public sealed class NodeProcess : IAsyncDisposable
{
    public const string DefaultClusterSecret = "logstream-test-cluster-secret";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    private NodeProcess(NodeSpec spec, ChildProcess process, Uri baseAddress)
    {
        Spec = spec;
        Process = process;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    public NodeSpec Spec { get; }

    public ChildProcess Process { get; }

    public Uri BaseAddress { get; }

    /// <summary>The internal (replica gRPC) listener.</summary>
    public string InternalAddress => $"http://127.0.0.1:{Spec.InternalPort}";

    public HttpClient Http { get; }

    public string NodeId => Spec.NodeId;

    public static async Task<NodeProcess> StartAsync(NodeSpec spec, TimeSpan? startTimeout = null)
    {
        if (spec.InternalPort == 0)
            spec = spec with { InternalPort = Ports.FreeTcpPort() };
        var arguments = new List<string>
        {
            Repository.NodeDll,
            $"--LogStream:NodeId={spec.NodeId}",
            $"--LogStream:DataDirectory={spec.DataDirectory}",
            $"--ConnectionStrings:redis={spec.RedisConnectionString}",
            $"--Kestrel:Endpoints:Public:Url=http://127.0.0.1:{spec.Port}",
            $"--Kestrel:Endpoints:Internal:Url=http://127.0.0.1:{spec.InternalPort}",
            $"--LogStream:Security:ClusterSecret={spec.ClusterSecret}",
        };
        arguments.AddRange(spec.Settings.Select(s => $"--{s.Key}={s.Value}"));
        var process = new ChildProcess("dotnet", arguments, new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Logging__LogLevel__Default"] = "Information",
        }) { Name = spec.NodeId };

        var internalAddress = $"http://127.0.0.1:{spec.InternalPort}";
        var line = await process.WaitForLineAsync(
            l => l.Contains("Now listening on: http://", StringComparison.Ordinal) && !l.Contains(internalAddress, StringComparison.Ordinal),
            startTimeout ?? TimeSpan.FromSeconds(30), $"{spec.NodeId} to listen");
        var url = line[(line.IndexOf("http://", StringComparison.Ordinal))..].Trim();
        return new NodeProcess(spec, process, new Uri(url));
    }

    /// <summary>The same node again (same id, data directory and port), e.g. after <see cref="StopAsync"/>.</summary>
    public Task<NodeProcess> RestartAsync() => StartAsync(Spec with { Port = BaseAddress.Port });

    public async Task<T> GetJsonAsync<T>(string path, CancellationToken cancellationToken = default) =>
        (await Http.GetFromJsonAsync<T>(path, Json, cancellationToken))!;

    public Task<JsonElement> GetJsonAsync(string path, CancellationToken cancellationToken = default) =>
        GetJsonAsync<JsonElement>(path, cancellationToken);

    public Task StopAsync() => Process.StopAsync();

    public void Kill() => Process.Kill();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Process.DisposeAsync();
    }
}
