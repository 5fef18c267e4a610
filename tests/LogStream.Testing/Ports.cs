using System.Net;
using System.Net.Sockets;

namespace LogStream.Testing;

public static class Ports
{
    /// <summary>A TCP port nobody listens on right now (for servers that cannot bind port 0 themselves).</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
