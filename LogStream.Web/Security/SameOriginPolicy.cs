using Microsoft.Extensions.Primitives;

namespace LogStream.Web.Security;

/// <summary>
/// Whether a request to the dashboard's JSON comes from the dashboard's own page (or from no page at all: a script,
/// the address bar). Browsers say where a request comes from in <c>Sec-Fetch-Site</c> (fetch metadata) and, for
/// anything but a plain GET, in <c>Origin</c>; a page cannot forge either. Tools send neither and are judged by the key
/// and the request token instead.
/// </summary>
public static class SameOriginPolicy
{
    /// <summary>Why the request is refused, or null when it may go on.</summary>
    public static string? Refusal(HttpRequest request, IReadOnlyCollection<string> allowedOrigins)
    {
        // "none": the person typed the address or opened a bookmark; same-site is another origin (a sibling subdomain).
        var site = request.Headers["Sec-Fetch-Site"];
        if (!StringValues.IsNullOrEmpty(site) && site.ToString() is not ("same-origin" or "none")
            && !(site.ToString() == "same-site" && OriginAllowed(request, allowedOrigins)))
            return $"The request came from another site (Sec-Fetch-Site: {site}).";

        var origin = request.Headers.Origin;
        if (!StringValues.IsNullOrEmpty(origin) && !OriginAllowed(request, allowedOrigins))
            return $"The request came from another origin ({origin}); the dashboard answers its own page only.";
        return null;
    }

    private static bool OriginAllowed(HttpRequest request, IReadOnlyCollection<string> allowedOrigins)
    {
        var origin = request.Headers.Origin.ToString();
        // "null" is what sandboxed frames, file: pages and some redirects send: never the dashboard's page.
        if (origin.Length == 0 || origin == "null" || !Uri.TryCreate(origin, UriKind.Absolute, out var uri))
            return false;
        var normalized = uri.GetLeftPart(UriPartial.Authority);
        if (allowedOrigins.Contains(normalized, StringComparer.OrdinalIgnoreCase))
            return true;
        // The page's origin names the host it was loaded from, which is this request's Host. The scheme is not compared:
        // behind a TLS-terminating proxy the page is https while this server sees http on the same host.
        return request.Host.HasValue && string.Equals(Authority(uri), Authority(request.Host), StringComparison.OrdinalIgnoreCase);
    }

    private static string Authority(Uri uri) => uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";

    private static string Authority(HostString host) => host.Port is null or 80 or 443 ? host.Host : $"{host.Host}:{host.Port}";
}
