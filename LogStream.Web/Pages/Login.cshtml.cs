using System.Security.Claims;
using LogStream.Web.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace LogStream.Web.Pages;

/// <summary>
/// The login form, where <c>LogStream:Dashboard:AccessKey</c> is set: the right key gets an HttpOnly, SameSite=Strict
/// cookie. Razor Pages check the form's antiforgery token, so another site cannot log a browser in either.
/// Without an access key there is nothing to log in to (404).
/// </summary>
[AllowAnonymous]
public sealed partial class LoginModel(IOptions<DashboardSecurityOptions> security, ILogger<LoginModel> logger) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public bool Failed { get; private set; }

    public IActionResult OnGet() => security.Value.RequiresKey ? Page() : NotFound();

    public async Task<IActionResult> OnPostAsync(string? key)
    {
        if (!security.Value.RequiresKey)
            return NotFound();
        if (!AccessKeyAuthenticationHandler.Matches(key, security.Value.AccessKey))
        {
            LogLoginRefused(HttpContext.Connection.RemoteIpAddress?.ToString());
            Failed = true;
            return Page();
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "dashboard-user")], DashboardSecurity.CookieScheme);
        await HttpContext.SignInAsync(DashboardSecurity.CookieScheme, new ClaimsPrincipal(identity));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/");
    }

    public async Task<IActionResult> OnPostLogoutAsync()
    {
        await HttpContext.SignOutAsync(DashboardSecurity.CookieScheme);
        return security.Value.RequiresKey ? RedirectToPage("/Login") : LocalRedirect("/");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboard login refused: wrong access key (from {RemoteAddress})")]
    private partial void LogLoginRefused(string? remoteAddress);
}
