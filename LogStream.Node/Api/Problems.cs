using LogStream.Node.Replication;

namespace LogStream.Node.Api;

/// <summary>RFC 7807 problem details for the public API: say which record, which field or parameter, and why.</summary>
public static class Problems
{
    public static IResult BadParameter(string parameter, string message) =>
        Results.Problem(
            title: "Invalid query parameter",
            detail: $"{parameter}: {message}",
            statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?> { ["parameter"] = parameter });

    /// <summary>A query parameter that should be a time and is not.</summary>
    public static IResult BadTime(string parameter, string text) =>
        BadParameter(parameter, $"'{text}' is not an RFC 3339 time with an offset (e.g. 2026-11-26T15:00:00Z)");

    public static IResult InvalidRecords(IReadOnlyList<RecordError> errors)
    {
        var first = errors[0];
        var where = first.Index < 0 ? "the body" : $"record {first.Index}";
        return Results.Problem(
            title: "Invalid log records",
            detail: $"{where}, field '{first.Field}': {first.Message}" + (errors.Count > 1 ? $" (and {errors.Count - 1} more problems)" : "") +
                    ". Nothing was written.",
            statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?>
            {
                ["errors"] = errors.Select(e => new Dictionary<string, object?>
                {
                    ["record"] = e.Index < 0 ? null : e.Index,
                    ["field"] = e.Field,
                    ["message"] = e.Message,
                }).ToList(),
            });
    }

    public static IResult TooLarge(string detail) =>
        Results.Problem(title: "Batch too large", detail: detail + " Nothing was written.", statusCode: StatusCodes.Status413PayloadTooLarge);

    public static IResult Unavailable(string title, string detail) =>
        Results.Problem(title: title, detail: detail, statusCode: StatusCodes.Status503ServiceUnavailable);

    public static IResult WriteQuorum(Consistency consistency, IReadOnlyList<PartitionWriteResponse> failed, int partitions)
    {
        var replicas = failed.SelectMany(p => p.Failed).Select(f => $"{f.Replica} ({f.Reason})").Distinct().ToList();
        return Results.Problem(
            title: "Write quorum not reached",
            detail: $"{failed.Count} of {partitions} partitions did not get the acknowledgements {consistency.ToName()} needs: " +
                    $"{string.Join(", ", failed.Select(Shortfall))}" +
                    (replicas.Count > 0 ? $"; failing replicas: {string.Join(", ", replicas)}" : "") +
                    ". Records that reached a replica stay there; retrying the same batch (same ids) is safe.",
            statusCode: StatusCodes.Status503ServiceUnavailable,
            extensions: new Dictionary<string, object?>
            {
                ["consistency"] = consistency.ToName(),
                ["failed_partitions"] = failed,
            });
    }

    private static string Shortfall(PartitionWriteResponse partition) =>
        partition.Replicas.Count >= partition.Required
            ? $"{partition.Partition} ({partition.Acks.Count} of {partition.Required})"
            : $"{partition.Partition} ({partition.Acks.Count} of {partition.Required}; this node knows only {partition.Replicas.Count} " +
              $"of its replicas: {string.Join(", ", partition.Replicas)})";

    public static IResult ReadQuorum(QueryResponse partial) =>
        Results.Problem(
            title: "Read quorum not reached",
            detail: $"Fewer than {partial.Consistency} replicas answered for {partial.IncompleteReplicaSets.Count} replica sets: " +
                    string.Join("; ", partial.IncompleteReplicaSets.Select(s => $"[{string.Join(", ", s.Replicas)}] {s.Answered} of {s.Required}: {string.Join(", ", s.Failures)}")) +
                    ". Ask with allow_partial=true to get what was found.",
            statusCode: StatusCodes.Status503ServiceUnavailable,
            extensions: new Dictionary<string, object?>
            {
                ["consistency"] = partial.Consistency,
                ["incomplete_partitions"] = partial.IncompletePartitions,
                ["incomplete_replica_sets"] = partial.IncompleteReplicaSets,
            });
}
