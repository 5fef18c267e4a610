using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using LogStream.Node.Replication;
using LogStream.Node.Replication.Grpc;
using LogStream.Storage;

namespace LogStream.Node.Tests.Replication;

/// <summary>The encoded replicate request is the generated <c>ReplicateRequest</c> on the wire, in both directions.</summary>
public sealed class EncodedReplicateRequestTests
{
    private static readonly DateTimeOffset Base = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static List<LogRecord> Records(int count) => Enumerable.Range(0, count)
        .Select(i => new LogRecord($"id-{i}", Base.AddMilliseconds(i), (LogSeverity)(i % 6), i % 2 == 0 ? "checkout" : "päyments",
            new string('x', i * 37 % 300) + " message ünïcode", i % 3 == 0 ? [new("status", "500"), new("region", "eu")] : null))
        .ToList();

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(200, false)]
    public void ItIsSerializedByteForByteAsTheGeneratedRequest(int count, bool handoff)
    {
        var records = Records(count);
        using var batch = EncodedBatch.FromRecords(records);
        var generated = new ReplicateRequest { Sender = "node-1", Handoff = handoff };
        generated.Records.AddRange(records.Select(r => ByteString.CopyFrom(LogRecordCodec.Encode(r))));

        Assert.Equal(generated.ToByteArray(), Serialize(new EncodedReplicateRequest(batch, null, "node-1", handoff)));
    }

    [Fact]
    public void ASelectionSendsOnlyThoseRecordsInItsOrder()
    {
        var records = Records(10);
        using var batch = EncodedBatch.FromRecords(records);
        var generated = new ReplicateRequest { Sender = "node-0" };
        generated.Records.AddRange(new[] { 7, 2, 3 }.Select(i => ByteString.CopyFrom(LogRecordCodec.Encode(records[i]))));

        Assert.Equal(generated.ToByteArray(), Serialize(new EncodedReplicateRequest(batch, [7, 2, 3], "node-0", false)));
    }

    [Fact]
    public void AGeneratedRequestIsReadWithItsRecordsSenderAndHandoffAcrossSegmentsAndUnknownFields()
    {
        var records = Records(50);
        var generated = new ReplicateRequest { Sender = "node-2", Handoff = true };
        generated.Records.AddRange(records.Select(r => ByteString.CopyFrom(LogRecordCodec.Encode(r))));
        // An unknown field of each wire type (a newer sender), then the message split into small segments.
        var bytes = generated.ToByteArray().Concat(new byte[] { 0x20, 0x96, 0x01, 0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x32, 2, 9, 9, 0x3D, 1, 2, 3, 4 }).ToArray();

        var request = EncodedReplicateRequest.Deserialize(new Deserialization(bytes, segment: 97));

        using var batch = request.Batch;
        Assert.Equal(-1, request.InvalidRecord);
        Assert.Equal("node-2", request.Sender);
        Assert.True(request.Handoff);
        Assert.Equal(records, Enumerable.Range(0, batch.Count).Select(batch.Decode));
        Assert.Equal(records.Select(r => r.Id), Enumerable.Range(0, batch.Count).Select(batch.IdAt));
        Assert.Equal(records.Select(r => r.Source), Enumerable.Range(0, batch.Count).Select(batch.SourceAt));
    }

    [Fact]
    public void ARecordThatDoesNotDecodeIsNamedByItsPosition()
    {
        var generated = new ReplicateRequest { Sender = "node-0" };
        generated.Records.Add(ByteString.CopyFrom(LogRecordCodec.Encode(Records(1)[0])));
        generated.Records.Add(ByteString.CopyFrom([1, 2, 3]));

        var request = EncodedReplicateRequest.Deserialize(new Deserialization(generated.ToByteArray(), segment: 4096));

        using var batch = request.Batch;
        Assert.Equal(1, request.InvalidRecord);
    }

    [Fact]
    public void ATruncatedMessageIsRefused()
    {
        var generated = new ReplicateRequest { Sender = "node-0" };
        generated.Records.Add(ByteString.CopyFrom(LogRecordCodec.Encode(Records(1)[0])));
        var bytes = generated.ToByteArray()[..^10];

        Assert.Throws<InvalidDataException>(() => EncodedReplicateRequest.Deserialize(new Deserialization(bytes, segment: 4096)));
    }

    private static byte[] Serialize(EncodedReplicateRequest request)
    {
        var context = new Serialization();
        EncodedReplicateRequest.Serialize(request, context);
        Assert.True(context.Completed);
        Assert.Equal(context.PayloadLength, context.Writer.WrittenCount);
        return context.Writer.WrittenSpan.ToArray();
    }

    private sealed class Serialization : SerializationContext
    {
        public ArrayBufferWriter<byte> Writer { get; } = new();

        public int PayloadLength { get; private set; } = -1;

        public bool Completed { get; private set; }

        public override void SetPayloadLength(int payloadLength) => PayloadLength = payloadLength;

        public override IBufferWriter<byte> GetBufferWriter() => Writer;

        public override void Complete() => Completed = true;
    }

    private sealed class Deserialization(byte[] bytes, int segment) : DeserializationContext
    {
        public override int PayloadLength => bytes.Length;

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence()
        {
            if (bytes.Length <= segment)
                return new ReadOnlySequence<byte>(bytes);
            Segment? first = null, last = null;
            for (var at = 0; at < bytes.Length; at += segment)
            {
                var next = new Segment(bytes.AsMemory(at, Math.Min(segment, bytes.Length - at)), last);
                first ??= next;
                last = next;
            }
            return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
