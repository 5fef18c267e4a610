using LogStream.Web.Cluster;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace LogStream.Web.Pages;

public sealed class IndexModel(ClusterClient cluster) : PageModel
{
    public ClusterReport Report { get; private set; } = null!;

    public async Task OnGetAsync(CancellationToken cancellationToken) =>
        Report = await cluster.GetClusterAsync(cancellationToken);
}
