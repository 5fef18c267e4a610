namespace LogStream.Node.Replication;

/// <summary>How many replicas must answer a write (W) or a read (R), as in Cassandra.</summary>
public enum Consistency
{
    One = 1,
    Quorum = 2,
    All = 3,
}

public static class ConsistencyLevels
{
    /// <summary>Parses ONE, QUORUM or ALL (case-insensitive); null or empty gives <paramref name="fallback"/>.</summary>
    public static bool TryParse(string? text, Consistency fallback, out Consistency consistency)
    {
        consistency = fallback;
        if (string.IsNullOrWhiteSpace(text))
            return true;
        switch (text.Trim().ToUpperInvariant())
        {
            case "ONE":
                consistency = Consistency.One;
                return true;
            case "QUORUM":
                consistency = Consistency.Quorum;
                return true;
            case "ALL":
                consistency = Consistency.All;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The canonical name: ONE, QUORUM, ALL.</summary>
    public static string ToName(this Consistency consistency) => consistency switch
    {
        Consistency.One => "ONE",
        Consistency.Quorum => "QUORUM",
        _ => "ALL",
    };

    /// <summary>
    /// Answers needed at replication factor <paramref name="replicationFactor"/>: ONE = 1, QUORUM = RF / 2 + 1, ALL = RF.
    /// Always from the configured factor, never from how many replicas the ring yields at the moment: a ring that shrank
    /// (a membership store that forgot members, a cold start) must make writes and reads fail, not need fewer copies.
    /// </summary>
    public static int Required(this Consistency consistency, int replicationFactor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        return consistency switch
        {
            Consistency.One => 1,
            Consistency.Quorum => replicationFactor / 2 + 1,
            _ => replicationFactor,
        };
    }
}
