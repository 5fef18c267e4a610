using Garnet;

namespace LogStream.Testing;

/// <summary>Microsoft Garnet (a RESP server) in the test process, on a free loopback port.</summary>
public sealed class GarnetServerHost : IDisposable
{
    private readonly GarnetServer _server;

    public GarnetServerHost()
    {
        Port = Ports.FreeTcpPort();
        _server = new GarnetServer(["--port", Port.ToString(), "--bind", "127.0.0.1"]);
        _server.Start();
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public void Dispose() => _server.Dispose();
}
