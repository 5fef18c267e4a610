using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Api;

/// <summary>
/// When API keys are configured (<c>LogStream:Security:ApiKeys</c>), every public <c>/api</c> route needs one, in
/// <c>X-Api-Key</c> or <c>Authorization: Bearer</c>; otherwise 401 problem details. Probes, metrics and the internal
/// gRPC API are not under <c>/api</c> and stay open (the internal API has the cluster secret).
/// </summary>
public sealed class ApiKeyFilter(IOptions<SecurityOptions> options) : IEndpointFilter
{
    public const string HeaderName = "X-Api-Key";

    private readonly byte[][] _keys = options.Value.ApiKeys.Select(Encoding.UTF8.GetBytes).ToArray();

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (_keys.Length == 0 || Accepted(context.HttpContext.Request))
            return next(context);
        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return ValueTask.FromResult<object?>(Results.Problem(
            title: "API key required",
            detail: $"This cluster requires an API key: send it in the {HeaderName} header or as Authorization: Bearer <key>.",
            statusCode: StatusCodes.Status401Unauthorized));
    }

    private bool Accepted(HttpRequest request)
    {
        var presented = request.Headers[HeaderName].ToString();
        if (presented.Length == 0)
        {
            var authorization = request.Headers.Authorization.ToString();
            if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                presented = authorization["Bearer ".Length..].Trim();
        }
        if (presented.Length == 0)
            return false;
        var bytes = Encoding.UTF8.GetBytes(presented);
        // Constant time per key, every key compared: nothing to learn from the response time.
        var match = false;
        foreach (var key in _keys)
            match |= CryptographicOperations.FixedTimeEquals(bytes, key);
        return match;
    }
}
