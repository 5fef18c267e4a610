using LogStream.Storage;

namespace LogStream.Node.Replication.Hints;

/// <summary>
/// Durable hinted handoff on the coordinator: records a replica did not acknowledge (down, timed out, circuit
/// open) are kept here per target node and delivered when the target is up again (DESIGN §5).
/// </summary>
public interface IHintStore
{
    /// <summary>False when hints are switched off (<c>LogStream:Hints:Enabled</c>): stores then keep nothing.</summary>
    bool Enabled { get; }

    /// <summary>Stores records for <paramref name="targetNodeId"/>; returns once they are durable (fsync).</summary>
    ValueTask StoreAsync(string targetNodeId, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken);

    /// <summary>Records waiting for <paramref name="targetNodeId"/> (not yet delivered, not expired).</summary>
    long PendingFor(string targetNodeId);

    /// <summary>Every target with records waiting, and how many.</summary>
    IReadOnlyDictionary<string, long> Pending { get; }
}

/// <summary>Sends hinted records to their target (the replica client implements it).</summary>
public interface IHintDelivery
{
    /// <summary>True when the target acknowledged every record durably; false or an exception keeps the hints.</summary>
    Task<bool> DeliverAsync(string targetNodeId, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken);
}
