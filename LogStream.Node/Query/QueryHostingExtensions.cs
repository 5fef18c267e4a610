namespace LogStream.Node.Query;

public static class QueryHostingExtensions
{
    /// <summary>The read coordinator.</summary>
    public static IHostApplicationBuilder AddQueries(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<QueryMetrics>();
        builder.Services.AddSingleton<ReadCoordinator>();
        return builder;
    }
}
