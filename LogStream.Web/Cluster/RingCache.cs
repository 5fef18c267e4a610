using System.Globalization;

namespace LogStream.Web.Cluster;

/// <summary>The ring's tokens for the picture (a few thousand decimal strings): fetched again only when the fingerprint changes.</summary>
public sealed class RingCache(ClusterClient clusterClient)
{
    private RingPicture? _cached;

    public async Task<RingPicture?> GetAsync(string? currentFingerprint, CancellationToken cancellationToken)
    {
        var cached = Volatile.Read(ref _cached);
        if (cached is not null && cached.Fingerprint == currentFingerprint)
            return cached;
        var report = await clusterClient.GetClusterAsync(cancellationToken, tokens: true);
        if (report.Cluster?.Ring.Tokens is not { } tokens)
            return cached;
        var picture = new RingPicture(
            report.Cluster.Ring.Fingerprint,
            report.Cluster.Ring.VirtualNodes,
            report.Cluster.ReplicationFactor,
            tokens.OrderBy(t => t.Key, StringComparer.Ordinal)
                .Select(t => new RingMember(t.Key, t.Value.Select(Fraction).ToList()))
                .ToList());
        Volatile.Write(ref _cached, picture);
        return picture;
    }

    /// <summary>Where a 64-bit token (unsigned, decimal) sits on the circle, as a fraction of a turn in [0, 1); 0 if unreadable.</summary>
    public static double Fraction(string token) =>
        ulong.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? Math.Min(Math.Round(value / 18446744073709551616.0, 7), 0.9999999)
            : 0;
}

/// <summary>The ring as the page draws it: each member's tokens as fractions of a turn.</summary>
public sealed record RingPicture(string Fingerprint, int VirtualNodes, int ReplicationFactor, IReadOnlyList<RingMember> Members);

public sealed record RingMember(string Id, IReadOnlyList<double> Positions);
