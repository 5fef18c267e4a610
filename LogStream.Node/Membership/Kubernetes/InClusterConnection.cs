using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;

namespace LogStream.Node.Membership.Kubernetes;

/// <summary>
/// Builds the client configuration exactly as <see cref="KubernetesClientConfiguration.InClusterConfig"/> does
/// (https to <c>KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT</c>, the service-account token file re-read as it
/// rotates, the cluster CA from <c>ca.crt</c>), but reads the environment through <see cref="IConfiguration"/> and
/// the files from <see cref="KubernetesOptions.ServiceAccountPath"/>, so a test can point both at a local stub.
/// </summary>
internal static class InClusterConnection
{
    public const string HostVariable = "KUBERNETES_SERVICE_HOST";
    public const string PortVariable = "KUBERNETES_SERVICE_PORT";
    public const string TokenFileName = "token";
    public const string CaFileName = "ca.crt";
    public const string NamespaceFileName = "namespace";

    /// <summary>The kubelet sets <c>KUBERNETES_SERVICE_HOST</c> in every container of every pod.</summary>
    public static bool IsKubernetesPod(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[HostVariable]);

    /// <summary>The configuration, or null with the reason why this process cannot talk to the API server.</summary>
    public static KubernetesClientConfiguration? TryCreate(
        IConfiguration configuration, KubernetesOptions options, out string? reason)
    {
        var host = configuration[HostVariable];
        var port = configuration[PortVariable];
        if (string.IsNullOrWhiteSpace(host) || string.IsNullOrWhiteSpace(port))
        {
            reason = $"{HostVariable} and {PortVariable} are not both set, so this is not a Kubernetes pod";
            return null;
        }

        if (!int.TryParse(port, out var portNumber) || portNumber is < 1 or > 65535)
        {
            reason = $"{PortVariable}='{port}' is not a TCP port";
            return null;
        }

        var tokenPath = Path.Combine(options.ServiceAccountPath, TokenFileName);
        var caPath = Path.Combine(options.ServiceAccountPath, CaFileName);
        if (!File.Exists(tokenPath) || !File.Exists(caPath))
        {
            reason = $"no service-account token or CA under {options.ServiceAccountPath} " +
                     "(is automountServiceAccountToken off for this pod?)";
            return null;
        }

        reason = null;
        return new KubernetesClientConfiguration
        {
            // UriBuilder brackets an IPv6 host, as InClusterConfig relies on too.
            Host = new UriBuilder("https", host, portNumber).ToString(),
            TokenProvider = new TokenFileAuth(tokenPath),
            SslCaCerts = LoadCaCertificates(caPath),
            Namespace = ReadNamespaceFile(options.ServiceAccountPath),
        };
    }

    /// <summary>Every certificate of the PEM bundle (what the client's own CertUtils.LoadPemFileCert returns; that one is internal).</summary>
    private static X509Certificate2Collection LoadCaCertificates(string caPath)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(caPath);
        return certificates;
    }

    public static string? ReadNamespaceFile(string serviceAccountPath)
    {
        var path = Path.Combine(serviceAccountPath, NamespaceFileName);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }
}
