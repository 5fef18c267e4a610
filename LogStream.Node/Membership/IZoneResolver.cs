using Microsoft.Extensions.Options;

namespace LogStream.Node.Membership;

/// <summary>Finds this node's failure domain (zone) once, before it registers.</summary>
public interface IZoneResolver
{
    /// <summary>The zone, or null when unknown (placement then ignores zones for this node).</summary>
    ValueTask<string?> ResolveZoneAsync(CancellationToken cancellationToken);
}

/// <summary>The zone from configuration (<c>LogStream:Zone</c>), used outside Kubernetes.</summary>
public sealed class ConfiguredZoneResolver(IOptions<NodeOptions> options) : IZoneResolver
{
    public ValueTask<string?> ResolveZoneAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(string.IsNullOrWhiteSpace(options.Value.Zone) ? null : options.Value.Zone);
}
