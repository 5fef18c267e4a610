namespace LogStream.Deploy.Tests.Zone;

/// <summary>What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount, in a temp folder.</summary>
internal sealed class ServiceAccountFolder : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("logstream-serviceaccount-");

    public ServiceAccountFolder(string token, string caPem, string? @namespace = "logstream")
    {
        File.WriteAllText(System.IO.Path.Combine(_dir.FullName, "token"), token);
        File.WriteAllText(System.IO.Path.Combine(_dir.FullName, "ca.crt"), caPem);
        if (@namespace is not null)
            File.WriteAllText(System.IO.Path.Combine(_dir.FullName, "namespace"), @namespace);
    }

    public string Path => _dir.FullName;

    public void RemoveToken() => File.Delete(System.IO.Path.Combine(Path, "token"));

    public void Dispose() => _dir.Delete(recursive: true);
}
