using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LogStream.Deploy.Tests.Zone;

/// <summary>
/// A local HTTPS server on 127.0.0.1 (free port) that answers like the Kubernetes API server, from the recorded
/// JSON under Zone/Recorded: one answer per path, 404 Status otherwise, 401 for a missing or wrong bearer token.
/// </summary>
internal sealed class KubernetesApiStub : IAsyncDisposable
{
    private static readonly TimeSpan LongestHang = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, Answer> _answers = new();
    private readonly WebApplication _app;

    private KubernetesApiStub(WebApplication app, string token)
    {
        _app = app;
        Token = token;
    }

    public string Token { get; }

    public int Port { get; private set; }

    public ConcurrentQueue<(string Path, string? Authorization)> Requests { get; } = new();

    public static async Task<KubernetesApiStub> StartAsync(TestCertificates certificates, string token)
    {
        var builder = WebApplication.CreateSlimBuilder();
        // The node's appsettings.json sits in this output folder too: its Kestrel endpoints are not the stub's.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificates.Server)));
        var app = builder.Build();
        var stub = new KubernetesApiStub(app, token);
        app.Run(stub.HandleAsync);
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        stub.Port = new Uri(app.Urls.Single()).Port;
        return stub;
    }

    /// <summary>Answers GET <paramref name="path"/> with a recorded file and status.</summary>
    public KubernetesApiStub Serve(string path, string recordedFile, int status = 200, TimeSpan delay = default)
    {
        _answers[path] = new Answer(status, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Zone", "Recorded", recordedFile)), delay, Hang: false);
        return this;
    }

    /// <summary>Never answers <paramref name="path"/> (until the client gives up, at most 30 s).</summary>
    public KubernetesApiStub Hang(string path)
    {
        _answers[path] = new Answer(0, "", default, Hang: true);
        return this;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var authorization = context.Request.Headers.Authorization.ToString();
        Requests.Enqueue((path, authorization));
        context.Response.ContentType = "application/json";

        if (authorization != $"Bearer {Token}")
        {
            context.Response.StatusCode = 401;
            await context.Response.SendFileAsync(Path.Combine(AppContext.BaseDirectory, "Zone", "Recorded", "status-unauthorized.json"));
            return;
        }

        if (!_answers.TryGetValue(path, out var answer))
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsync($$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"{{path}} not found","reason":"NotFound","code":404}""");
            return;
        }

        if (answer.Hang)
        {
            try
            {
                await Task.Delay(LongestHang, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        if (answer.Delay > TimeSpan.Zero)
            await Task.Delay(answer.Delay, context.RequestAborted);
        context.Response.StatusCode = answer.Status;
        await context.Response.WriteAsync(answer.Body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }

    private sealed record Answer(int Status, string Body, TimeSpan Delay, bool Hang);
}
