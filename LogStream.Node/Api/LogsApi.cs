using System.Buffers;
using System.Globalization;
using LogStream.Node.Query;
using LogStream.Node.Replication;
using LogStream.Storage;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Api;

/// <summary><c>POST /api/logs</c> (write a batch at a consistency level) and <c>GET /api/logs</c> (query the cluster).</summary>
public static class LogsApi
{
    private static readonly HashSet<string> QueryParameters =
        ["level", "min_level", "source", "from", "to", "contains", "limit", "consistency", "allow_partial"];

    public static IEndpointRouteBuilder MapLogsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/logs");
        group.MapPost("", WriteLogs)
            .WithName("WriteLogs")
            .WithSummary("Writes a batch of records (JSON array or NDJSON) at ONE, QUORUM (default) or ALL.");
        group.MapGet("", QueryLogs)
            .WithName("QueryLogs")
            .WithSummary("Queries every partition: newest first, filtered, at ONE, QUORUM (default) or ALL.");
        return endpoints;
    }

    public static async Task<IResult> WriteLogs(
        HttpContext context,
        WriteCoordinator coordinator,
        RecordBatchParser parser,
        IOptions<ApiOptions> options,
        string? consistency,
        CancellationToken cancellationToken)
    {
        if (!ConsistencyLevels.TryParse(consistency, Consistency.Quorum, out var level))
            return Problems.BadParameter("consistency", $"'{consistency}' is not a consistency level: expected ONE, QUORUM or ALL");

        var limits = options.Value;
        var body = await ReadBodyAsync(context, limits.MaxBodyBytes, cancellationToken);
        if (body is null)
            return Problems.TooLarge($"The body is larger than {limits.MaxBodyBytes} bytes (LogStream:Api:MaxBodyBytes); split the batch.");

        var ndjson = context.Request.ContentType?.Contains("ndjson", StringComparison.OrdinalIgnoreCase) == true;
        EncodedParsedBatch parsed;
        try
        {
            parsed = parser.ParseEncoded(body.Value.Span, ndjson);
        }
        finally
        {
            body.Value.Dispose();
        }
        using var batch = parsed.Batch;
        if (parsed.TooManyRecords)
            return Problems.TooLarge($"The batch holds more than {limits.MaxBatchRecords} records (LogStream:Api:MaxBatchRecords); split it.");
        if (batch is null)
            return Problems.InvalidRecords(parsed.Errors);
        if (batch.Count == 0)
            return TypedResults.Ok(new WriteResponse(0, [], level.ToName(), []));

        WriteResult result;
        try
        {
            result = await coordinator.WriteAsync(batch, level, cancellationToken);
        }
        catch (NoRingException ex)
        {
            return Problems.Unavailable("No cluster view", ex.Message);
        }

        var partitions = result.Partitions.Select(p => new PartitionWriteResponse(
            p.Partition, p.Records, p.Required, p.Acked, p.Failed.Select(f => new ReplicaFailureResponse(f.Replica, f.Reason, f.Hinted)).ToList(), p.Pending,
            p.Replicas)).ToList();
        if (!result.Succeeded)
            return Problems.WriteQuorum(level, partitions.Where((_, i) => !result.Partitions[i].Succeeded).ToList(), partitions.Count);
        var ids = new string[batch.Count];
        for (var i = 0; i < ids.Length; i++)
            ids[i] = batch.IdAt(i);
        return TypedResults.Ok(new WriteResponse(result.Records, ids, level.ToName(), partitions));
    }

    public static async Task<IResult> QueryLogs(
        HttpContext context,
        ReadCoordinator coordinator,
        IOptions<ApiOptions> options,
        CancellationToken cancellationToken)
    {
        var parsed = ParseQuery(context.Request.Query, options.Value);
        if (parsed.Problem is not null)
            return parsed.Problem;

        try
        {
            var result = await coordinator.ReadAsync(parsed.Query!, cancellationToken);
            return TypedResults.Ok(ToResponse(result));
        }
        catch (ReadQuorumException ex)
        {
            return Problems.ReadQuorum(ToResponse(ex.PartialResult));
        }
        catch (NoRingException ex)
        {
            return Problems.Unavailable("No cluster view", ex.Message);
        }
    }

    private static QueryResponse ToResponse(ReadResult result) => new(
        result.Records.Select(RecordResponse.From).ToList(),
        result.Partial,
        result.IncompletePartitions,
        result.IncompleteReplicaSets.Select(s => new IncompleteReplicaSetResponse(s.Replicas, s.Required, s.Answered, s.Failures)).ToList(),
        result.Consistency.ToName(),
        result.Records.Count,
        result.Contacted,
        result.ReadRepaired);

    private static (ReadQuery? Query, IResult? Problem) ParseQuery(IQueryCollection parameters, ApiOptions options)
    {
        foreach (var key in parameters.Keys)
        {
            if (!QueryParameters.Contains(key))
                return (null, Problems.BadParameter(key, $"unknown parameter (known: {string.Join(", ", QueryParameters)})"));
        }

        LogSeverity? Level(string name, out IResult? problem)
        {
            problem = null;
            var text = parameters[name].ToString();
            if (string.IsNullOrEmpty(text))
                return null;
            if (LogSeverities.TryParse(text, out var level))
                return level;
            problem = Problems.BadParameter(name, $"'{text}' is not a level: expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL");
            return null;
        }

        DateTimeOffset? Time(string name, out IResult? problem)
        {
            problem = null;
            var text = parameters[name].ToString();
            if (string.IsNullOrEmpty(text))
                return null;
            if (RecordBatchParser.TryParseTimestamp(text, out var time))
                return time;
            problem = Problems.BadTime(name, text);
            return null;
        }

        var level = Level("level", out var problem);
        if (problem is not null)
            return (null, problem);
        var minLevel = Level("min_level", out problem);
        if (problem is not null)
            return (null, problem);
        var from = Time("from", out problem);
        if (problem is not null)
            return (null, problem);
        var to = Time("to", out problem);
        if (problem is not null)
            return (null, problem);
        if (from is not null && to is not null && from >= to)
            return (null, Problems.BadParameter("to", "must be later than from"));

        var limit = options.DefaultLimit;
        var limitText = parameters["limit"].ToString();
        if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > options.MaxLimit))
            return (null, Problems.BadParameter("limit", $"must be a whole number from 1 to {options.MaxLimit}"));

        var consistencyText = parameters["consistency"].ToString();
        if (!ConsistencyLevels.TryParse(consistencyText, Consistency.Quorum, out var consistency))
            return (null, Problems.BadParameter("consistency", $"'{consistencyText}' is not a consistency level: expected ONE, QUORUM or ALL"));

        var allowPartial = false;
        var partialText = parameters["allow_partial"].ToString();
        if (partialText.Length > 0 && !bool.TryParse(partialText, out allowPartial))
            return (null, Problems.BadParameter("allow_partial", "must be true or false"));

        var source = parameters["source"].ToString();
        var contains = parameters["contains"].ToString();
        return (new ReadQuery
        {
            Level = level,
            MinLevel = minLevel,
            Source = source.Length == 0 ? null : source,
            From = from,
            To = to,
            Contains = contains.Length == 0 ? null : contains,
            Limit = limit,
            Consistency = consistency,
            AllowPartial = allowPartial,
        }, null);
    }

    /// <summary>The whole body in a pooled buffer (the caller disposes it), or null when it is larger than <paramref name="maxBytes"/>.</summary>
    private static async Task<PooledBody?> ReadBodyAsync(HttpContext context, long maxBytes, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > maxBytes)
            return null;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = maxBytes + 1;

        var reader = context.Request.BodyReader;
        while (true)
        {
            System.IO.Pipelines.ReadResult read;
            try
            {
                read = await reader.ReadAsync(cancellationToken);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return null;
            }
            if (read.Buffer.Length > maxBytes)
            {
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                return null;
            }
            if (read.IsCompleted)
            {
                var body = PooledBody.CopyOf(read.Buffer);
                reader.AdvanceTo(read.Buffer.End);
                return body;
            }
            // Not done: keep everything buffered and ask for more.
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    /// <summary>A request body copied into a rented array (bodies of big batches would otherwise land on the large object heap).</summary>
    private readonly struct PooledBody(byte[] array, int length) : IDisposable
    {
        public ReadOnlySpan<byte> Span => array.AsSpan(0, length);

        public static PooledBody CopyOf(in ReadOnlySequence<byte> sequence)
        {
            var array = sequence.IsEmpty ? [] : ArrayPool<byte>.Shared.Rent((int)sequence.Length);
            sequence.CopyTo(array);
            return new PooledBody(array, (int)sequence.Length);
        }

        public void Dispose()
        {
            if (array.Length > 0)
                ArrayPool<byte>.Shared.Return(array);
        }
    }
}

public sealed record WriteResponse(int Accepted, IReadOnlyList<string> Ids, string Consistency, IReadOnlyList<PartitionWriteResponse> Partitions);

/// <param name="Acks">Replicas that stored the records durably before the answer (at least <paramref name="Required"/> when it succeeded).</param>
/// <param name="Required">W: acknowledgements the consistency level needs, counted from the replication factor.</param>
/// <param name="Pending">Replicas not yet done when the answer was given (stored or hinted in the background).</param>
/// <param name="Replicas">The replicas the ring places the partition on (fewer than the replication factor only when this node knows fewer members).</param>
public sealed record PartitionWriteResponse(
    string Partition, int Records, int Required, IReadOnlyList<string> Acks, IReadOnlyList<ReplicaFailureResponse> Failed, IReadOnlyList<string> Pending,
    IReadOnlyList<string> Replicas);

public sealed record ReplicaFailureResponse(string Replica, string Reason, bool Hinted);

public sealed record QueryResponse(
    IReadOnlyList<RecordResponse> Records,
    bool Partial,
    IReadOnlyList<string> IncompletePartitions,
    IReadOnlyList<IncompleteReplicaSetResponse> IncompleteReplicaSets,
    string Consistency,
    int Count,
    IReadOnlyList<string> Replicas,
    int ReadRepaired);

public sealed record IncompleteReplicaSetResponse(IReadOnlyList<string> Replicas, int Required, int Answered, IReadOnlyList<string> Failures);

/// <param name="Timestamp">RFC 3339, UTC, 100 ns precision.</param>
public sealed record RecordResponse(string Id, string Timestamp, string Level, string Source, string Message, IReadOnlyDictionary<string, string> Attributes)
{
    public static RecordResponse From(LogRecord record) => new(
        record.Id,
        record.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
        record.Level.ToName(),
        record.Source,
        record.Message,
        record.Attributes);
}
