using System.Net;

namespace LogStream.Node.Membership;

/// <summary>
/// The addresses a node advertises: the public HTTP API (clients, dashboard) and the internal replica endpoint
/// (gRPC, HTTP/2). Explicit settings win; otherwise they are read from what the server really listens on, matched
/// to the Kestrel endpoints <c>Public</c> and <c>Internal</c> by port.
/// </summary>
public static class NodeAddresses
{
    public const string PublicEndpointKey = "Kestrel:Endpoints:Public:Url";
    public const string InternalEndpointKey = "Kestrel:Endpoints:Internal:Url";

    public static (string Public, string? Internal) Resolve(NodeOptions options, IConfiguration configuration, IReadOnlyList<string> listening)
    {
        var publicPort = ConfiguredPort(configuration[PublicEndpointKey]);
        var internalPort = ConfiguredPort(configuration[InternalEndpointKey]);
        var hasInternal = configuration[InternalEndpointKey] is not null;

        var publicAddress = !string.IsNullOrWhiteSpace(options.AdvertiseAddress)
            ? options.AdvertiseAddress.TrimEnd('/')
            : Advertisable(Pick(listening, publicPort, exceptPort: hasInternal ? internalPort : null, fallbackIndex: 0)
                ?? throw new InvalidOperationException("LogStream:AdvertiseAddress is not set and the server reports no listening address."));

        string? internalAddress = null;
        if (!string.IsNullOrWhiteSpace(options.AdvertiseInternalAddress))
        {
            internalAddress = options.AdvertiseInternalAddress.TrimEnd('/');
        }
        else if (hasInternal)
        {
            var bound = Pick(listening, internalPort, exceptPort: new Uri(publicAddress).Port, fallbackIndex: 1);
            if (bound is not null)
            {
                // Same host as the public address (what peers can resolve), the internal endpoint's port.
                var host = new Uri(publicAddress);
                internalAddress = new UriBuilder(host.Scheme, host.Host, new Uri(Normalize(bound)).Port).Uri.ToString().TrimEnd('/');
            }
        }
        return (publicAddress, internalAddress);
    }

    /// <summary>Replaces a wildcard listening host (0.0.0.0, [::], +, *) by this machine's name.</summary>
    public static string Advertisable(string listening)
    {
        var uri = new Uri(Normalize(listening));
        var host = uri.Host;
        if (host == "wildcard" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))))
            host = Dns.GetHostName();
        return new UriBuilder(uri.Scheme, host, uri.Port).Uri.ToString().TrimEnd('/');
    }

    private static string? Pick(IReadOnlyList<string> listening, int? port, int? exceptPort, int fallbackIndex)
    {
        if (port is > 0)
            return listening.FirstOrDefault(a => new Uri(Normalize(a)).Port == port);
        var candidates = listening.Where(a => exceptPort is not > 0 || new Uri(Normalize(a)).Port != exceptPort).ToList();
        if (candidates.Count == 1)
            return candidates[0];
        // Both ports chosen by the OS: Kestrel binds endpoints in configuration order (Public, then Internal).
        return listening.Count > fallbackIndex ? listening[fallbackIndex] : candidates.FirstOrDefault();
    }

    private static int? ConfiguredPort(string? url) =>
        url is null || !Uri.TryCreate(Normalize(url), UriKind.Absolute, out var uri) ? null : uri.Port;

    private static string Normalize(string url) =>
        url.Replace("://+", "://wildcard", StringComparison.Ordinal).Replace("://*", "://wildcard", StringComparison.Ordinal);
}
