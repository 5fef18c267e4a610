using Google.Protobuf;
using LogStream.Node.Membership;
using LogStream.Node.Replication.Grpc;
using LogStream.Storage;

namespace LogStream.Node.Replication;

/// <summary>
/// The calls the write and read coordinators make to peer replicas. <see cref="ReplicaClient"/> is the real one (gRPC
/// behind Polly); the interface exists so that the coordinators' decisions (W, R, hints) get unit tests with a fake.
/// </summary>
public interface IPeerClient
{
    /// <summary>True while writes to <paramref name="memberId"/> fail at once (open breaker): they become hints without a call.</summary>
    bool IsCircuitOpen(string memberId);

    /// <summary>Stores records of an encoded batch (all, or those <paramref name="indexes"/> names) durably on <paramref name="target"/>.</summary>
    Task WriteAsync(Member target, EncodedBatch batch, IReadOnlyList<int> indexes);

    /// <summary>Runs a read on <paramref name="target"/>'s local partitions.</summary>
    Task<ReadReply> ReadAsync(Member target, ReadRequest request, CancellationToken cancellationToken);

    /// <summary>Stores codec-encoded records on <paramref name="target"/> (read repair, hinted handoff).</summary>
    Task<ReplicateReply> ReplicateAsync(Member target, IReadOnlyList<ByteString> records, bool handoff, CancellationToken cancellationToken);
}
