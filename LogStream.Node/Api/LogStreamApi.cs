namespace LogStream.Node.Api;

public static class LogStreamApi
{
    /// <summary>Maps every public route of the node under <c>/api</c>, behind the API keys when some are configured.</summary>
    public static IEndpointRouteBuilder MapLogStreamApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").AddEndpointFilter<ApiKeyFilter>();
        api.MapClusterApi();
        api.MapLogsApi();
        api.MapNodeApi();
        return endpoints;
    }
}
