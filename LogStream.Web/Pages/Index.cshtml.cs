using LogStream.Web.Demo;
using LogStream.Web.Snapshot;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace LogStream.Web.Pages;

/// <summary>The dashboard: rendered from the current snapshot, then kept up to date by <c>dashboard.js</c>.</summary>
public sealed class IndexModel(SnapshotStore store, IOptions<ChaosOptions> chaos, IOptions<DemoOptions> demo, IOptions<SnapshotOptions> snapshot) : PageModel
{
    public DashboardSnapshot Snapshot { get; private set; } = null!;

    public bool ChaosEnabled => chaos.Value.Enabled;

    public double LoseFraction => chaos.Value.LoseFraction;

    public DemoOptions Demo => demo.Value;

    public int RefreshMilliseconds => (int)snapshot.Value.RefreshInterval.TotalMilliseconds;

    public void OnGet() => Snapshot = store.Current;
}
