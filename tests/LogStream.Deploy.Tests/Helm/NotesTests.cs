namespace LogStream.Deploy.Tests.Helm;

/// <summary>
/// NOTES.txt, which only `helm install` prints (and that needs a cluster): rendered here by including it from a
/// throw-away template in a copy of the chart.
/// </summary>
public sealed class NotesTests
{
    private static string RenderNotes(params string[] values)
    {
        var helm = HelmCli.Require();
        var copy = Directory.CreateTempSubdirectory("logstream-chart-");
        try
        {
            CopyFollowingLinks(new DirectoryInfo(RepositoryPaths.Chart), copy);
            File.WriteAllText(Path.Combine(copy.FullName, "templates", "zz-notes.yaml"), """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: rendered-notes
                data:
                  notes: |-
                    {{- include "logstream/templates/NOTES.txt" . | nindent 4 }}
                """);
            var result = helm.Run(["template", ChartScenarios.Release, copy.FullName, "--namespace", ChartScenarios.Namespace,
                "--show-only", "templates/zz-notes.yaml", .. values]);
            Assert.True(result.Succeeded, result.ToString());
            return YamlJson.LoadDocuments(result.StandardOutput).Single().Str("data/notes")!;
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }

    private static void CopyFollowingLinks(DirectoryInfo from, DirectoryInfo to)
    {
        foreach (var file in from.GetFiles())
            File.Copy(file.LinkTarget is null ? file.FullName : file.ResolveLinkTarget(returnFinalTarget: true)!.FullName,
                Path.Combine(to.FullName, file.Name));
        foreach (var dir in from.GetDirectories())
            CopyFollowingLinks(dir, to.CreateSubdirectory(dir.Name));
    }

    [SkippableFact]
    public void NotesTellHowToReachTheApiAndTheDashboard()
    {
        var notes = RenderNotes();
        Assert.Contains("kubectl -n logstream port-forward svc/logstream-web 5200:5200", notes);
        Assert.Contains("kubectl -n logstream port-forward svc/logstream 5100:5100", notes);
        Assert.Contains("at most 1 node(s) down", notes);
        Assert.DoesNotContain("chaos is ON", notes);
        Assert.DoesNotContain("WARNING", notes);
    }

    [SkippableFact]
    public void NotesWarnWhenChaosIsOn() =>
        Assert.Contains("WARNING: chaos is ON", RenderNotes(ChartScenarios.ChaosOn));

    [SkippableFact]
    public void NotesWarnThatDrainsBlockBelowReplicationFactorThree() =>
        Assert.Contains("kubectl drain", RenderNotes("--set", "ring.replicationFactor=2"));
}
