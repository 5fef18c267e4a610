using Microsoft.Extensions.DependencyInjection.Extensions;
using LogStream.Node.Membership.Kubernetes;
using Microsoft.Extensions.Options;

// In the Membership namespace (not .Kubernetes) so NodeHostingExtensions needs one added line and no new using.
namespace LogStream.Node.Membership;

public static class KubernetesZoneExtensions
{
    /// <summary>
    /// Binds <see cref="KubernetesOptions"/> and, when the process runs in a Kubernetes pod with the zone lookup
    /// on, registers <see cref="KubernetesZoneResolver"/> as the <see cref="IZoneResolver"/>. Elsewhere the zone
    /// comes from configuration (<see cref="ConfiguredZoneResolver"/>). Call before any other IZoneResolver is added.
    /// </summary>
    public static IServiceCollection AddKubernetesZone(this IServiceCollection services)
    {
        services.AddOptions<KubernetesOptions>().BindConfiguration(KubernetesOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<IZoneResolver>(sp =>
            InClusterConnection.IsKubernetesPod(sp.GetRequiredService<IConfiguration>()) &&
            sp.GetRequiredService<IOptions<KubernetesOptions>>().Value.ZoneLookup
                ? ActivatorUtilities.CreateInstance<KubernetesZoneResolver>(sp)
                : ActivatorUtilities.CreateInstance<ConfiguredZoneResolver>(sp));
        return services;
    }
}
