using LogStream.Node.Replication;
using LogStream.Storage;

namespace LogStream.Node.Query;

/// <summary>A cluster-wide query (the public <c>GET /api/logs</c>), already validated.</summary>
public sealed record ReadQuery
{
    public LogSeverity? Level { get; init; }

    public LogSeverity? MinLevel { get; init; }

    public string? Source { get; init; }

    /// <summary>Inclusive.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Exclusive.</summary>
    public DateTimeOffset? To { get; init; }

    public string? Contains { get; init; }

    public int Limit { get; init; } = 100;

    public Consistency Consistency { get; init; } = Consistency.Quorum;

    public bool AllowPartial { get; init; }
}

/// <param name="IncompletePartitions">Partitions that fewer than R replicas answered for (names known from the replicas that did answer, or from the query).</param>
/// <param name="IncompleteReplicaSets">Replica sets that fewer than R members answered for, and why.</param>
/// <param name="ReadRepaired">Records pushed to replicas that lacked them while answering.</param>
public sealed record ReadResult(
    IReadOnlyList<LogRecord> Records,
    Consistency Consistency,
    bool Partial,
    IReadOnlyList<string> IncompletePartitions,
    IReadOnlyList<IncompleteReplicaSet> IncompleteReplicaSets,
    IReadOnlyList<string> Contacted,
    int ReadRepaired);

public sealed record IncompleteReplicaSet(IReadOnlyList<string> Replicas, int Required, int Answered, IReadOnlyList<string> Failures);

/// <summary>Fewer than R replicas answered for some partitions and partial answers were not allowed.</summary>
public sealed class ReadQuorumException(ReadResult partialResult) : Exception("read quorum not reached")
{
    public ReadResult PartialResult { get; } = partialResult;
}

/// <summary>The one order every replica and the coordinator agree on: newest first, then id, then partition (ordinal, descending).</summary>
public static class NewestFirst
{
    /// <summary>Negative when <paramref name="a"/> comes first (is newer).</summary>
    public static int Compare(LogRecord a, string partitionA, LogRecord b, string partitionB)
    {
        var byTime = b.Timestamp.UtcTicks.CompareTo(a.Timestamp.UtcTicks);
        if (byTime != 0)
            return byTime;
        var byId = string.CompareOrdinal(b.Id, a.Id);
        return byId != 0 ? byId : string.CompareOrdinal(partitionB, partitionA);
    }
}
