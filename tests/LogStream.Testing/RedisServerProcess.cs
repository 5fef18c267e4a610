using System.Net.Sockets;
using System.Text;

namespace LogStream.Testing;

/// <summary>A real Debian <c>redis-server</c> on a free loopback port, in a temp directory, without persistence.</summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly TempDirectory _directory;

    private RedisServerProcess(ChildProcess process, TempDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Starts redis-server (skipping the test if it is not installed, failing under CI) and waits for PONG.</summary>
    public static async Task<RedisServerProcess> StartAsync(int? port = null)
    {
        var executable = RequiredTool.Require("redis-server", "apt-get install redis-server");
        var chosenPort = port ?? Ports.FreeTcpPort();
        var directory = new TempDirectory("logstream-redis");
        var process = new ChildProcess(executable,
            ["--port", chosenPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.Path]);
        var server = new RedisServerProcess(process, directory, chosenPort);
        await Wait.UntilAsync(() => PingAsync(chosenPort), TimeSpan.FromSeconds(10), $"redis-server to answer PING on port {chosenPort}");
        return server;
    }

    /// <summary>True when a RESP server on <paramref name="port"/> answers PING with PONG.</summary>
    public static async Task<bool> PingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        await _process.DisposeAsync();
        _directory.Dispose();
    }
}
