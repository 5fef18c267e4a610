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

    /// <summary>Answers needed among <paramref name="replicas"/> replicas: ONE = 1, QUORUM = majority, ALL = every one.</summary>
    public static int Required(this Consistency consistency, int replicas) => consistency switch
    {
        Consistency.One => Math.Min(1, replicas),
        Consistency.Quorum => replicas / 2 + 1,
        _ => replicas,
    };
}
