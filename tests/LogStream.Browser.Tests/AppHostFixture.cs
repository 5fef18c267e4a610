using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using LogStream.Testing;

namespace LogStream.Browser.Tests;

/// <summary>
/// The whole app host (Redis, node-0..2, web, and the local Prometheus where one is installed) started once for the
/// collection on free ports and a temp data root, so it runs beside a developer's own cluster.
/// </summary>
public sealed class AppHostFixture : AppHostFixture<Projects.LogStream_AppHost>
{
    /// <summary>Whether the app host runs its own Prometheus (a <c>prometheus</c> executable was found).</summary>
    public bool HasPrometheus { get; private set; }

    // Observability=local: the local prometheus executable where installed, never containers (tests own their tools).
    protected override IEnumerable<string> Arguments => ["LogStream:Observability=local"];

    protected override IEnumerable<string> Resources(DistributedApplicationModel model)
    {
        HasPrometheus = model.Resources.Any(r => r.Name == "prometheus");
        return base.Resources(model).Concat(HasPrometheus ? ["prometheus"] : []);
    }

    /// <summary>The dashboard's snapshot lists the three nodes up, each one answering, and nothing is stale.</summary>
    protected override Task FormedAsync() => Wait.UntilAsync(async () =>
    {
        var snapshot = await SnapshotAsync();
        var nodes = snapshot.GetProperty("nodes").EnumerateArray().ToList();
        return !snapshot.GetProperty("stale").GetBoolean()
               && nodes.Select(n => n.GetProperty("id").GetString()).SequenceEqual(Nodes)
               && nodes.All(n => n.GetProperty("state").GetString() == "up" && n.GetProperty("reachable").GetBoolean());
    }, TimeSpan.FromSeconds(60), "the dashboard to list node-0..2 up and answering");

    /// <summary>The web's <c>GET /metrics</c> snapshot.</summary>
    public async Task<JsonElement> SnapshotAsync()
    {
        using var web = Client("web");
        return await web.GetFromJsonAsync<JsonElement>("/metrics");
    }

    /// <summary>
    /// Presses Run Demo through the API as a script does on an open dashboard (a request token and its cookie from
    /// <c>GET /api/token</c>, then the POST) and returns its JSON (fails the test unless it wrote something).
    /// </summary>
    public async Task<JsonElement> RunDemoAsync()
    {
        // Cookies by hand: one client, one token, nothing shared with other tests' clients.
        using var web = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = Endpoint("web"), Timeout = TimeSpan.FromSeconds(60) };
        using var tokenResponse = await web.GetAsync("/api/token");
        tokenResponse.EnsureSuccessStatusCode();
        var token = await tokenResponse.Content.ReadFromJsonAsync<JsonElement>();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/demo/run");
        request.Headers.Add(token.GetProperty("header_name").GetString()!, token.GetProperty("token").GetString());
        request.Headers.Add("Cookie", string.Join("; ", tokenResponse.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0])));
        using var response = await web.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"POST /api/demo/run answered {(int)response.StatusCode}: {body}");
        return body;
    }
}

[CollectionDefinition(Name)]
public sealed class AppHostCollection : ICollectionFixture<AppHostFixture>
{
    public const string Name = "app host";
}
