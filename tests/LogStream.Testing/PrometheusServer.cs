using System.Net.Http.Json;
using System.Text.Json;

namespace LogStream.Testing;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c>) as a child process on a free loopback port, with its own temp storage,
/// and its HTTP query API. Stopped by SIGTERM on dispose.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly TempDirectory _directory;

    private PrometheusServer(ChildProcess process, TempDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Url = new Uri($"http://127.0.0.1:{port}");
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri Url { get; }

    public HttpClient Http { get; }

    /// <summary>Starts Prometheus with <paramref name="configYaml"/> and waits (bounded) until <c>/-/ready</c> answers.</summary>
    public static async Task<PrometheusServer> StartAsync(string executable, string configYaml, TimeSpan readyTimeout)
    {
        var directory = new TempDirectory("logstream-prometheus");
        var config = Path.Combine(directory.Path, "prometheus.yml");
        await File.WriteAllTextAsync(config, configYaml);
        var port = Ports.FreeTcpPort();
        var process = new ChildProcess(executable,
        [
            $"--config.file={config}",
            $"--storage.tsdb.path={directory.Sub("data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]) { Name = "prometheus" };
        var server = new PrometheusServer(process, directory, port);
        try
        {
            await Wait.UntilAsync(async () =>
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"prometheus exited with {process.ExitCode}: {process.RecentOutput()}");
                using var response = await server.Http.GetAsync("/-/ready");
                return response.IsSuccessStatusCode;
            }, readyTimeout, "prometheus to answer /-/ready");
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>An instant query; returns the <c>data.result</c> array (throws on a query error, with Prometheus' message).</summary>
    public async Task<JsonElement> QueryAsync(string promql)
    {
        using var response = await Http.GetAsync($"/api/v1/query?query={Uri.EscapeDataString(promql)}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (body.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException($"query failed: {promql}: {body.GetRawText()}");
        return body.GetProperty("data").GetProperty("result");
    }

    /// <summary>Values of a label over series matching <paramref name="match"/> (what Grafana's label_values() asks).</summary>
    public async Task<List<string>> LabelValuesAsync(string label, string match)
    {
        var body = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/label/{label}/values?match[]={Uri.EscapeDataString(match)}");
        return body.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToList();
    }

    public string RecentOutput() => _process.RecentOutput();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _process.StopAsync(TimeSpan.FromSeconds(10));
        await _process.DisposeAsync();
        _directory.Dispose();
    }
}
