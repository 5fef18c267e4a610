using LogStream.Storage;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Api;

public static class ApiHostingExtensions
{
    /// <summary>Limits and parsing of the public API.</summary>
    public static IHostApplicationBuilder AddPublicApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new RecordBatchParser(
            sp.GetRequiredService<IOptions<ApiOptions>>().Value,
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.Retention,
            sp.GetRequiredService<TimeProvider>()));
        return builder;
    }
}
