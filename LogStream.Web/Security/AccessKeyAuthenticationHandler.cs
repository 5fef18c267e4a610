using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace LogStream.Web.Security;

/// <summary>
/// Scripts' way in when <see cref="DashboardSecurityOptions.AccessKey"/> is set: the key in <c>Authorization: Bearer</c> or
/// <c>X-Api-Key</c> (the nodes' convention). A page on another site cannot make a browser send either header without a
/// CORS preflight, which this server never grants, so these requests need no request token.
/// </summary>
public sealed class AccessKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<DashboardSecurityOptions> security)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "AccessKey";

    public const string HeaderName = "X-Api-Key";

    /// <summary>Whether the request presents a key at all (then this scheme, not the login cookie, judges it).</summary>
    public static bool Presents(HttpRequest request) =>
        request.Headers.ContainsKey(HeaderName)
        || request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

    /// <summary>Constant-time comparison of a presented key with the configured one.</summary>
    public static bool Matches(string? presented, string? configured) =>
        presented is { Length: > 0 } && configured is { Length: > 0 }
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(configured));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var configured = security.Value.AccessKey;
        if (string.IsNullOrEmpty(configured) || !Presents(Request))
            return Task.FromResult(AuthenticateResult.NoResult());
        var presented = Request.Headers[HeaderName].ToString();
        if (presented.Length == 0)
            presented = Request.Headers.Authorization.ToString()["Bearer ".Length..].Trim();
        if (!Matches(presented, configured))
            return Task.FromResult(AuthenticateResult.Fail("The access key does not match LogStream:Dashboard:AccessKey."));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "script")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        DashboardSecurity.WriteUnauthorizedAsync(Context);
}
