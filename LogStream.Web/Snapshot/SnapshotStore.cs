namespace LogStream.Web.Snapshot;

/// <summary>The current <see cref="DashboardSnapshot"/>, swapped atomically by the refresher; reads take no lock.</summary>
public sealed class SnapshotStore(TimeProvider timeProvider)
{
    private DashboardSnapshot? _current;

    public DashboardSnapshot Current => Volatile.Read(ref _current) ?? DashboardSnapshot.Empty(timeProvider.GetUtcNow());

    internal DashboardSnapshot? Latest => Volatile.Read(ref _current);

    internal void Publish(DashboardSnapshot snapshot) => Volatile.Write(ref _current, snapshot);
}
