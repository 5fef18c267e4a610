namespace LogStream.Node.Api;

public static class LogStreamApi
{
    /// <summary>Maps every public route of the node.</summary>
    public static IEndpointRouteBuilder MapLogStreamApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapClusterApi();
        endpoints.MapLogsApi();
        endpoints.MapNodeApi();
        return endpoints;
    }
}
