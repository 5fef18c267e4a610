using System.ComponentModel.DataAnnotations;

namespace LogStream.Web.Security;

/// <summary>Who may use the dashboard. Section <c>LogStream:Dashboard</c>.</summary>
public sealed class DashboardSecurityOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Dashboard";

    public const int MinimumAccessKeyLength = 16;

    /// <summary>
    /// When set, the page, every <c>/api/*</c> route and the JSON <c>/metrics</c> need it: people log in at <c>/login</c>
    /// (an HttpOnly, SameSite=Strict cookie), scripts send <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key</c>.
    /// Unset (the default): reads are open, actions still need the page's request token and a same-origin request.
    /// Not the nodes' API key (<c>LogStream:ApiKey</c>), which never leaves the server.
    /// </summary>
    public string? AccessKey { get; set; }

    /// <summary>
    /// Origins besides the dashboard's own (as its Host header names it) from which the page may call the API, e.g.
    /// <c>https://logs.example.com</c> behind a proxy that rewrites Host. Empty by default.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>How long a login lasts without use (sliding). Default 8 hours.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    public bool RequiresKey => !string.IsNullOrEmpty(AccessKey);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (AccessKey is { Length: > 0 } key && (key.Length < MinimumAccessKeyLength || string.IsNullOrWhiteSpace(key)))
        {
            yield return new ValidationResult(
                $"LogStream:Dashboard:AccessKey must be at least {MinimumAccessKeyLength} characters when set (it has {key.Length}); leave it unset for an open local dashboard.",
                [nameof(AccessKey)]);
        }
        for (var i = 0; i < AllowedOrigins.Length; i++)
        {
            if (!Uri.TryCreate(AllowedOrigins[i], UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            {
                yield return new ValidationResult(
                    $"LogStream:Dashboard:AllowedOrigins:{i} must be an origin such as https://logs.example.com (scheme, host, optional port; no path), not '{AllowedOrigins[i]}'.",
                    [nameof(AllowedOrigins)]);
            }
        }
        if (SessionLifetime <= TimeSpan.Zero)
            yield return new ValidationResult("LogStream:Dashboard:SessionLifetime must be positive.", [nameof(SessionLifetime)]);
    }
}
