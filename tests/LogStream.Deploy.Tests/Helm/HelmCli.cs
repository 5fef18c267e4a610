namespace LogStream.Deploy.Tests.Helm;

/// <summary>
/// The helm binary: <c>HELM_PATH</c> (a file) or <c>helm</c> on <c>PATH</c> (installed by .ci/install-helm.sh).
/// Missing helm skips the chart tests on a developer machine (reported as skipped, via Xunit.SkippableFact) but
/// fails them when <c>CI=true</c>: CI must never pass by not running them.
/// </summary>
internal sealed class HelmCli
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly Lazy<(HelmCli? Helm, string Searched)> Discovered = new(Discover);

    private HelmCli(string path) => Path = path;

    public string Path { get; }

    public static bool RunningInCi =>
        Environment.GetEnvironmentVariable("CI") is { } ci &&
        (ci.Equals("true", StringComparison.OrdinalIgnoreCase) || ci == "1");

    /// <summary>The helm binary, or skips the calling test (fails it under CI=true) with the reason.</summary>
    public static HelmCli Require()
    {
        var (helm, searched) = Discovered.Value;
        if (helm is not null)
            return helm;

        var reason = $"helm not found ({searched}); install it with .ci/install-helm.sh or set HELM_PATH";
        if (RunningInCi)
            Assert.Fail($"CI=true and {reason}. Chart tests must run in CI.");
        Skip.If(true, reason);
        throw new InvalidOperationException("unreachable");
    }

    public ProcessResult Run(params string[] arguments) => ProcessRunner.Run(Path, arguments, Deadline);

    private static (HelmCli?, string) Discover()
    {
        var explicitPath = Environment.GetEnvironmentVariable("HELM_PATH");
        if (!string.IsNullOrWhiteSpace(explicitPath))
            return File.Exists(explicitPath) ? (new HelmCli(explicitPath), explicitPath) : (null, $"HELM_PATH={explicitPath} does not exist");

        var searchPath = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in searchPath.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(dir, OperatingSystem.IsWindows() ? "helm.exe" : "helm");
            if (File.Exists(candidate))
                return (new HelmCli(candidate), candidate);
        }

        return (null, "neither HELM_PATH nor helm on PATH");
    }
}
