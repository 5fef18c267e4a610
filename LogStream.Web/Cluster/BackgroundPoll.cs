using Microsoft.Extensions.Hosting;

namespace LogStream.Web.Cluster;

/// <summary>
/// Marks the node calls made inside <see cref="Begin"/> (the snapshot refresh) with
/// <see cref="ServiceDefaultsExtensions.BackgroundPollHeader"/>, so the nodes serve them untraced.
/// </summary>
public sealed class BackgroundPoll : DelegatingHandler
{
    private static readonly AsyncLocal<bool> Active = new();

    public static IDisposable Begin()
    {
        var previous = Active.Value;
        Active.Value = true;
        return new Scope(previous);
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Active.Value)
            request.Headers.TryAddWithoutValidation(ServiceDefaultsExtensions.BackgroundPollHeader, "snapshot");
        return base.SendAsync(request, cancellationToken);
    }

    private sealed class Scope(bool previous) : IDisposable
    {
        public void Dispose() => Active.Value = previous;
    }
}
