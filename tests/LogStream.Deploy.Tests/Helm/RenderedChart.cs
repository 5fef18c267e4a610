using System.Text.Json.Nodes;

namespace LogStream.Deploy.Tests.Helm;

/// <summary>The objects one <c>helm template</c> produced, with look-ups by kind and name.</summary>
internal sealed class RenderedChart(string yaml, IReadOnlyList<JsonObject> objects)
{
    public string Yaml { get; } = yaml;

    public IReadOnlyList<JsonObject> Objects { get; } = objects;

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => o.Str("kind") == kind);

    public JsonObject? Find(string kind, string name) => OfKind(kind).SingleOrDefault(o => o.Str("metadata/name") == name);

    public JsonObject Single(string kind, string name) =>
        Find(kind, name) ?? throw new Xunit.Sdk.XunitException(
            $"No {kind} '{name}' in the rendered chart; it has: {string.Join(", ", Objects.Select(o => $"{o.Str("kind")}/{o.Str("metadata/name")}"))}");

    public JsonObject NodeStatefulSet => Single("StatefulSet", ChartScenarios.Release);

    public JsonObject NodeContainer => Container(NodeStatefulSet, "node");

    /// <summary>Every pod template (StatefulSets, Deployments) with its owner's name.</summary>
    public IEnumerable<(string Owner, JsonObject PodSpec)> PodSpecs =>
        Objects.Where(o => o.Str("kind") is "StatefulSet" or "Deployment")
            .Select(o => ($"{o.Str("kind")}/{o.Str("metadata/name")}", o.Obj("spec/template/spec")));

    public static JsonObject Container(JsonObject workload, string name) =>
        workload.Arr("spec/template/spec/containers").Select(c => c!.AsObject()).Single(c => c.Str("name") == name);

    public static JsonObject EnvVar(JsonObject container, string name) =>
        container.Arr("env").Select(e => e!.AsObject()).SingleOrDefault(e => e.Str("name") == name)
        ?? throw new Xunit.Sdk.XunitException(
            $"No env var {name} in container {container.Str("name")}; it has: {string.Join(", ", container.Arr("env").Select(e => e!["name"]))}");

    public static string? EnvValue(JsonObject container, string name) => EnvVar(container, name).Str("value");

    public static bool HasEnv(JsonObject container, string name) =>
        container["env"] is JsonArray env && env.Any(e => e!.AsObject().Str("name") == name);
}

/// <summary>Path look-ups such as <c>spec/template/spec/containers/0/name</c> on JSON nodes.</summary>
internal static class JsonPath
{
    public static JsonNode? At(this JsonNode? node, string path)
    {
        JsonNode? current = node;
        foreach (var segment in path.Split('/'))
        {
            current = current switch
            {
                JsonObject o => o[segment],
                JsonArray a when int.TryParse(segment, out var i) && i < a.Count => a[i],
                _ => null,
            };
            if (current is null)
                return null;
        }

        return current;
    }

    public static string? Str(this JsonNode? node, string path) => node.At(path)?.ToString();

    public static JsonObject Obj(this JsonNode? node, string path) =>
        node.At(path) as JsonObject ?? throw new Xunit.Sdk.XunitException($"No object at {path} in {Describe(node)}");

    public static JsonArray Arr(this JsonNode? node, string path) =>
        node.At(path) as JsonArray ?? throw new Xunit.Sdk.XunitException($"No array at {path} in {Describe(node)}");

    private static string Describe(JsonNode? node) =>
        node is JsonObject o && o.Str("kind") is { } kind ? $"{kind}/{o.Str("metadata/name")}" : node?.GetPath() ?? "null";
}
