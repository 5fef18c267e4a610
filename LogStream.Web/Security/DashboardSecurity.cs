using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace LogStream.Web.Security;

/// <summary>
/// The dashboard's protection against the pages its user visits and against whoever else can reach it:
/// <list type="bullet">
/// <item>every route under <c>/api</c> and the JSON <c>/metrics</c> refuse requests from another site (fetch metadata, Origin);</item>
/// <item>every action (any method but GET/HEAD) also needs the page's antiforgery token, or the access key for scripts;</item>
/// <item>with <see cref="DashboardSecurityOptions.AccessKey"/> set, the page and all of that need a login or the key.</item>
/// </list>
/// </summary>
public static partial class DashboardSecurity
{
    /// <summary>The authorization policy of the page and the JSON: a login or the key when one is configured, else anyone.</summary>
    public const string PolicyName = "Dashboard";

    /// <summary>Where the page's script sends its antiforgery token (scripts get one from <c>GET /api/token</c>).</summary>
    public const string RequestTokenHeader = "X-CSRF-TOKEN";

    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    public const string LoginCookieName = "LogStream.Dashboard";

    private const string SelectorScheme = "Dashboard";

    public static IServiceCollection AddDashboardSecurity(this IServiceCollection services)
    {
        services.AddOptions<DashboardSecurityOptions>().BindConfiguration(DashboardSecurityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddAntiforgery(options =>
        {
            options.HeaderName = RequestTokenHeader;
            options.Cookie.Name = "LogStream.Antiforgery";
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.HttpOnly = true;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });

        // A presented key is judged by the key scheme (a wrong key is a 401, never a fallback to the cookie); else the login cookie.
        services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "Login cookie or access key", options =>
                options.ForwardDefaultSelector = context =>
                    AccessKeyAuthenticationHandler.Presents(context.Request) ? AccessKeyAuthenticationHandler.SchemeName : CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, AccessKeyAuthenticationHandler>(AccessKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieScheme, options =>
            {
                options.Cookie.Name = LoginCookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.SlidingExpiration = true;
                options.LoginPath = "/login";
                options.Events.OnRedirectToLogin = context =>
                {
                    if (IsJson(context.Request))
                        return WriteUnauthorizedAsync(context.HttpContext);
                    // Relative, so it stays right behind a proxy; the login page only follows local return URLs.
                    var back = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
                    context.Response.Redirect("/login?ReturnUrl=" + Uri.EscapeDataString(back));
                    return Task.CompletedTask;
                };
            });
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme)
            .Configure<IOptions<DashboardSecurityOptions>>((cookie, security) => cookie.ExpireTimeSpan = security.Value.SessionLifetime);

        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<DashboardSecurityOptions>>((authorization, security) =>
            authorization.AddPolicy(PolicyName, policy =>
            {
                if (security.Value.RequiresKey)
                    policy.RequireAuthenticatedUser();
                else
                    policy.RequireAssertion(_ => true);   // open dashboard: reads for anyone who can reach it; actions still need the token
            }));
        return services;
    }

    /// <summary>Headers that keep the page out of other sites' frames, then authentication and authorization.</summary>
    public static WebApplication UseDashboardSecurity(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
            // Only what cannot break the page's own script and styles: no framing, no <base>, forms post here only.
            headers.ContentSecurityPolicy = "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";
            return next(context);
        });
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// The JSON's protection, declared by the routes that need it: the dashboard policy, no request from another site,
    /// and for anything but GET/HEAD the page's request token (or the access key).
    /// </summary>
    public static TBuilder RequireDashboardAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.RequireAuthorization(PolicyName);
        builder.AddEndpointFilter<TBuilder, SameOriginFilter>();
        builder.AddEndpointFilter<TBuilder, RequestTokenFilter>();
        return builder;
    }

    public static bool AuthenticatedByKey(this ClaimsPrincipal user) =>
        user.Identity is { IsAuthenticated: true, AuthenticationType: AccessKeyAuthenticationHandler.SchemeName };

    internal static Task WriteUnauthorizedAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Dashboard access key required",
                Detail = "This dashboard requires LogStream:Dashboard:AccessKey: log in at /login, or send the key as Authorization: Bearer <key> or X-Api-Key.",
            },
        }).AsTask();
    }

    private static bool IsJson(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/metrics");

    private static ProblemHttpResult Forbidden(string title, string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: title);

    /// <summary>Refuses requests that a page on another site made the browser send.</summary>
    private sealed partial class SameOriginFilter(IOptions<DashboardSecurityOptions> options, ILogger<SameOriginFilter> logger) : IEndpointFilter
    {
        public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var request = context.HttpContext.Request;
            if (SameOriginPolicy.Refusal(request, options.Value.AllowedOrigins) is not { } why)
                return next(context);
            LogRefused(request.Method, request.Path, why);
            return ValueTask.FromResult<object?>(Forbidden("Cross-site request refused", why + " Open the dashboard itself to do this."));
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Method} {Path}: {Reason}")]
        private partial void LogRefused(string method, string path, string reason);
    }

    /// <summary>Actions need the antiforgery token the page carries, unless the caller presented the access key.</summary>
    private sealed partial class RequestTokenFilter(IAntiforgery antiforgery, ILogger<RequestTokenFilter> logger) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var http = context.HttpContext;
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || http.User.AuthenticatedByKey())
                return await next(context);
            if (await antiforgery.IsRequestValidAsync(http))
                return await next(context);
            LogNoToken(http.Request.Method, http.Request.Path);
            return Forbidden("Request token missing or invalid",
                $"Dashboard actions need the request token of the dashboard's page in the {RequestTokenHeader} header (with its cookie). " +
                "Scripts: send the access key (Authorization: Bearer <key>) where one is configured, or fetch a token and cookie from GET /api/token.");
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Method} {Path}: no valid request token and no access key")]
        private partial void LogNoToken(string method, string path);
    }
}
