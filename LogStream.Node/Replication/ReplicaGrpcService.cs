using Grpc.Core;
using LogStream.Node.Replication.Grpc;

namespace LogStream.Node.Replication;

/// <summary>
/// The internal replica API over gRPC: a thin adapter over <see cref="LocalReplica"/>. Replicated records are
/// appended as they arrive, encoded (<see cref="EncodedReplicateRequest"/>): never decoded into records.
/// </summary>
public sealed class ReplicaGrpcService(LocalReplica replica, ReplicationMetrics metrics) : Grpc.Replica.EncodedReplicaBase
{
    public override async Task<ReplicateReply> Replicate(EncodedReplicateRequest request, ServerCallContext context)
    {
        using var batch = request.Batch;
        if (request.InvalidRecord >= 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"record {request.InvalidRecord} does not decode: Malformed record encoding."));

        var result = await replica.AppendAsync(batch, context.CancellationToken);
        metrics.ReplicaAppended(result.Added, request.Handoff);
        return new ReplicateReply
        {
            Added = (uint)result.Added,
            AlreadyPresent = (uint)result.AlreadyPresent,
            Expired = (uint)result.Expired,
        };
    }

    public override Task<ReadReply> Read(ReadRequest request, ServerCallContext context) =>
        replica.ReadAsync(request, context.CancellationToken);
}
