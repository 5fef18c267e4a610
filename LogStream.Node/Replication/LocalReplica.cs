using System.Collections.Concurrent;
using Google.Protobuf;
using LogStream.Node.Replication.Grpc;
using LogStream.Node.Ring;
using LogStream.Storage;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Replication;

/// <summary>
/// This node as a replica: what a peer's replicate and read calls do here, and what the coordinators do when
/// this node is itself one of the replicas (no network hop for the local copy).
/// </summary>
public sealed class LocalReplica(ILogStore store, IOptions<NodeOptions> nodeOptions)
{
    private readonly ConcurrentDictionary<string, ulong> _tokens = new(StringComparer.Ordinal);

    public string NodeId { get; } = nodeOptions.Value.NodeId;

    public LogStream.Storage.Partitioner Partitioner => store.Partitioner;

    public ValueTask<AppendResult> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken) =>
        store.AppendAsync(records, cancellationToken);

    /// <summary>Appends records of an encoded batch (all, or those <paramref name="indexes"/> names).</summary>
    public ValueTask<AppendResult> AppendAsync(EncodedBatch batch, CancellationToken cancellationToken, IReadOnlyList<int>? indexes = null) =>
        store.AppendAsync(batch, indexes, cancellationToken);

    /// <summary>Decodes codec-encoded records, as they arrive from a peer.</summary>
    /// <exception cref="FormatException">A record does not decode.</exception>
    public static List<LogRecord> Decode(IReadOnlyList<ByteString> encoded)
    {
        var records = new List<LogRecord>(encoded.Count);
        for (var i = 0; i < encoded.Count; i++)
        {
            try
            {
                records.Add(LogRecordCodec.Decode(encoded[i].Span));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new FormatException($"record {i} does not decode: {ex.Message}", ex);
            }
        }
        return records;
    }

    public static ByteString Encode(LogRecord record) => UnsafeByteOperations.UnsafeWrap(LogRecordCodec.Encode(record));

    /// <summary>Runs a read over the local partitions in scope: newest first, at most the limit.</summary>
    public async Task<ReadReply> ReadAsync(ReadRequest request, CancellationToken cancellationToken)
    {
        var scope = PartitionsInScope(request);
        var reply = new ReadReply { NodeId = NodeId };
        reply.Partitions.AddRange(scope.Order(StringComparer.Ordinal));
        if (scope.Count == 0)
            return reply;

        var limit = request.Limit == 0 ? int.MaxValue : (int)request.Limit;
        var query = new LogQuery
        {
            Level = request.HasLevel ? (LogSeverity)request.Level : null,
            MinLevel = request.HasMinLevel ? (LogSeverity)request.MinLevel : null,
            Source = request.HasSource ? request.Source : null,
            From = request.HasFromUnixTicks ? UnixTicks.ToDateTimeOffset(request.FromUnixTicks) : null,
            To = request.HasToUnixTicks ? UnixTicks.ToDateTimeOffset(request.ToUnixTicks) : null,
            Contains = request.HasContains ? request.Contains : null,
            Partitions = scope,
            Limit = limit,
        };
        await foreach (var record in store.QueryAsync(query, cancellationToken))
            reply.Records.Add(Encode(record));
        reply.Truncated = reply.Records.Count >= limit;
        return reply;
    }

    /// <summary>Local partitions named by the request, or whose token falls in one of its ranges.</summary>
    public HashSet<string> PartitionsInScope(ReadRequest request)
    {
        var local = new HashSet<string>(StringComparer.Ordinal);
        foreach (var bucket in store.ListBuckets())
            local.Add(bucket.Partition);

        if (request.Partitions.Count > 0)
        {
            local.IntersectWith(request.Partitions);
            return local;
        }

        var ranges = request.Ranges.Select(r => new Ring.TokenRange(r.Start, r.End)).ToArray();
        local.RemoveWhere(partition =>
        {
            var token = _tokens.GetOrAdd(partition, TokenRing.TokenFor);
            return !ranges.Any(r => r.Contains(token));
        });
        return local;
    }

}
