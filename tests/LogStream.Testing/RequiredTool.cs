using Xunit;

namespace LogStream.Testing;

/// <summary>
/// Tools that <c>.ci/run</c> installs (redis-server, chromium, prometheus, helm). On a bare developer machine a
/// test needing one is skipped with the reason; under <c>CI=true</c> a missing tool is a failure, never a skip.
/// </summary>
public static class RequiredTool
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The tool's full path; otherwise skips the test (fails it under CI).</summary>
    public static string Require(string program, string installHint)
    {
        var path = Find(program);
        if (path is not null)
            return path;
        Unavailable($"{program} is not installed ({installHint}; .ci/run installs it)");
        return null!;
    }

    /// <summary>Skips the calling test with <paramref name="reason"/>, or fails it under CI.</summary>
    public static void Unavailable(string reason)
    {
        if (InCi)
            throw new InvalidOperationException($"CI=true and a required tool is missing: {reason}");
        throw new SkipException(reason);
    }

    public static string? Find(string program)
    {
        if (Path.IsPathRooted(program))
            return File.Exists(program) ? program : null;
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
