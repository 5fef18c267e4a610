using Grpc.Core;
using LogStream.Node.Replication.Grpc;

namespace LogStream.Node.Replication;

/// <summary>The internal replica API over gRPC: a thin adapter over <see cref="LocalReplica"/>.</summary>
public sealed class ReplicaGrpcService(LocalReplica replica, ReplicationMetrics metrics) : Grpc.Replica.ReplicaBase
{
    public override async Task<ReplicateReply> Replicate(ReplicateRequest request, ServerCallContext context)
    {
        List<Storage.LogRecord> records;
        try
        {
            records = LocalReplica.Decode(request.Records);
        }
        catch (FormatException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }

        var result = await replica.AppendAsync(records, context.CancellationToken);
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
