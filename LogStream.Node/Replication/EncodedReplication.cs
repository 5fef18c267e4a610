using System.Buffers;
using System.Text;
using Grpc.Core;
using LogStream.Storage;

namespace LogStream.Node.Replication
{
    /// <summary>
    /// A replicate call whose records stay in the storage codec's encoding from end to end: the coordinator writes the
    /// payloads of its <see cref="EncodedBatch"/> straight into the request, the replica reads them straight into a new
    /// batch (checked, see <see cref="EncodedBatch.TryAddEncoded"/>) and appends its frames. On the wire it is exactly
    /// a <c>ReplicateRequest</c> (replica.proto): only the (de)serialization differs from the generated one, which
    /// would make a <c>ByteString</c> and, at the replica, a decoded <see cref="LogRecord"/> of every record.
    /// </summary>
    public sealed class EncodedReplicateRequest
    {
        /// <param name="indexes">The records of <paramref name="batch"/> to send (all when null).</param>
        public EncodedReplicateRequest(EncodedBatch batch, IReadOnlyList<int>? indexes, string sender, bool handoff)
            : this([new Part(batch, indexes)], sender, handoff)
        {
        }

        /// <summary>Records of several batches in one request (sends to one peer that waited for each other).</summary>
        public EncodedReplicateRequest(IReadOnlyList<Part> parts, string sender, bool handoff)
        {
            Parts = parts;
            Sender = sender;
            Handoff = handoff;
        }

        private EncodedReplicateRequest(EncodedBatch batch, string sender, bool handoff, int invalidRecord)
            : this(batch, null, sender, handoff)
        {
            InvalidRecord = invalidRecord;
        }

        /// <summary>Records of one batch: all, or those <see cref="Indexes"/> names, in its order.</summary>
        public readonly record struct Part(EncodedBatch Batch, IReadOnlyList<int>? Indexes)
        {
            public int Count => Indexes?.Count ?? Batch.Count;

            public int IndexAt(int k) => Indexes?[k] ?? k;
        }

        public IReadOnlyList<Part> Parts { get; }

        /// <summary>The batch of a request with one part (what a replica receives).</summary>
        public EncodedBatch Batch => Parts[0].Batch;

        public string Sender { get; }

        public bool Handoff { get; }

        /// <summary>Received: the position of the first record that does not decode (then the batch is incomplete), or -1.</summary>
        public int InvalidRecord { get; } = -1;

        public int Count => Parts.Sum(p => p.Count);

        private const uint RecordsTag = (1 << 3) | 2, SenderTag = (2 << 3) | 2, HandoffTag = (3 << 3) | 0;

        /// <summary>Writes the request as the generated code would, field by field, records first.</summary>
        internal static void Serialize(EncodedReplicateRequest request, SerializationContext context)
        {
            long size = 0;
            foreach (var part in request.Parts)
            {
                for (var k = 0; k < part.Count; k++)
                {
                    var length = part.Batch.PayloadLengthAt(part.IndexAt(k));
                    size += 1 + Varint.Size((uint)length) + length;
                }
            }
            var senderBytes = Encoding.UTF8.GetByteCount(request.Sender);
            if (senderBytes > 0)
                size += 1 + Varint.Size((uint)senderBytes) + senderBytes;
            if (request.Handoff)
                size += 2;
            context.SetPayloadLength(checked((int)size));

            var writer = context.GetBufferWriter();
            foreach (var part in request.Parts)
            {
                for (var k = 0; k < part.Count; k++)
                {
                    var payload = part.Batch.PayloadAt(part.IndexAt(k));
                    var span = writer.GetSpan(1 + 5 + payload.Length);
                    span[0] = (byte)RecordsTag;
                    var at = 1 + Varint.Write(span[1..], (uint)payload.Length);
                    payload.CopyTo(span[at..]);
                    writer.Advance(at + payload.Length);
                }
            }
            if (senderBytes > 0)
            {
                var span = writer.GetSpan(1 + 5 + senderBytes);
                span[0] = (byte)SenderTag;
                var at = 1 + Varint.Write(span[1..], (uint)senderBytes);
                Encoding.UTF8.GetBytes(request.Sender, span[at..]);
                writer.Advance(at + senderBytes);
            }
            if (request.Handoff)
            {
                var span = writer.GetSpan(2);
                span[0] = (byte)HandoffTag;
                span[1] = 1;
                writer.Advance(2);
            }
            context.Complete();
        }

        /// <summary>
        /// Reads a <c>ReplicateRequest</c> as protobuf would (unknown fields skipped, last scalar wins) into a new batch.
        /// </summary>
        /// <exception cref="InvalidDataException">The bytes are not a protobuf message.</exception>
        internal static EncodedReplicateRequest Deserialize(DeserializationContext context)
        {
            var payload = context.PayloadAsReadOnlySequence();
            var batch = new EncodedBatch((int)Math.Min(int.MaxValue / 2, payload.Length + (payload.Length / 4) + 64), (int)Math.Min(1 << 20, (payload.Length / 64) + 1));
            try
            {
                var reader = new SequenceReader<byte>(payload);
                string sender = "";
                var handoff = false;
                var invalid = -1;
                var index = 0;
                byte[]? scratch = null;
                try
                {
                    while (!reader.End)
                    {
                        var tag = ReadVarint(ref reader);
                        switch (tag)
                        {
                            case RecordsTag:
                            {
                                var bytes = ReadLengthDelimited(ref reader, ref scratch);
                                if (invalid < 0 && !batch.TryAddEncoded(bytes))
                                    invalid = index;
                                index++;
                                break;
                            }
                            case SenderTag:
                                sender = Encoding.UTF8.GetString(ReadLengthDelimited(ref reader, ref scratch));
                                break;
                            case HandoffTag:
                                handoff = ReadVarint(ref reader) != 0;
                                break;
                            default:
                                SkipField(ref reader, tag, ref scratch);
                                break;
                        }
                    }
                }
                finally
                {
                    if (scratch is not null)
                        ArrayPool<byte>.Shared.Return(scratch);
                }
                return new EncodedReplicateRequest(batch, sender, handoff, invalid);
            }
            catch
            {
                batch.Dispose();
                throw;
            }
        }

        private static ReadOnlySpan<byte> ReadLengthDelimited(ref SequenceReader<byte> reader, ref byte[]? scratch)
        {
            var length = ReadVarint(ref reader);
            if (length > (ulong)reader.Remaining)
                throw new InvalidDataException("A length-delimited field runs past the end of the message.");
            var size = (int)length;
            if (reader.UnreadSpan.Length >= size)
            {
                var span = reader.UnreadSpan[..size];
                reader.Advance(size);
                return span;
            }
            if (scratch is null || scratch.Length < size)
            {
                if (scratch is not null)
                    ArrayPool<byte>.Shared.Return(scratch);
                scratch = ArrayPool<byte>.Shared.Rent(size);
            }
            reader.TryCopyTo(scratch.AsSpan(0, size));
            reader.Advance(size);
            return scratch.AsSpan(0, size);
        }

        private static void SkipField(ref SequenceReader<byte> reader, ulong tag, ref byte[]? scratch)
        {
            switch (tag & 7)
            {
                case 0:
                    ReadVarint(ref reader);
                    break;
                case 1:
                    Skip(ref reader, 8);
                    break;
                case 2:
                    ReadLengthDelimited(ref reader, ref scratch);
                    break;
                case 5:
                    Skip(ref reader, 4);
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {tag & 7}.");
            }
        }

        private static void Skip(ref SequenceReader<byte> reader, int bytes)
        {
            if (reader.Remaining < bytes)
                throw new InvalidDataException("A field runs past the end of the message.");
            reader.Advance(bytes);
        }

        private static ulong ReadVarint(ref SequenceReader<byte> reader)
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (!reader.TryRead(out var b))
                    throw new InvalidDataException("A varint runs past the end of the message.");
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                    return value;
            }
            throw new InvalidDataException("A varint is longer than 10 bytes.");
        }

    }
}

namespace LogStream.Node.Replication.Grpc
{
    using LogStream.Node.Replication;

    // The generated service class, extended with the encoded form of Replicate (same service, same method name, same
    // wire bytes) and a service base that binds it with the generated Read.
    public static partial class Replica
    {
        /// <summary><c>Replicate</c> with the records kept encoded on both sides.</summary>
        public static Method<EncodedReplicateRequest, ReplicateReply> EncodedReplicateMethod => EncodedMethods.Replicate;

        /// <summary>Binds <see cref="EncodedReplicaBase"/>: the encoded <c>Replicate</c> and the generated <c>Read</c>.</summary>
        public static void BindService(ServiceBinderBase binder, EncodedReplicaBase? service)
        {
            binder.AddMethod(EncodedReplicateMethod, service is null ? null : service.Replicate);
            binder.AddMethod(__Method_Read, service is null ? null : service.Read);
        }

        // Nested, so that it is initialized after the generated fields it uses (the order of static initializers
        // across the files of a partial class is not defined).
        private static class EncodedMethods
        {
            public static readonly Method<EncodedReplicateRequest, ReplicateReply> Replicate = new(
                MethodType.Unary,
                __ServiceName,
                __Method_Replicate.Name,
                Marshallers.Create<EncodedReplicateRequest>(EncodedReplicateRequest.Serialize, EncodedReplicateRequest.Deserialize),
                __Marshaller_logstream_replica_v1_ReplicateReply);
        }

        /// <summary>The replica service, its records kept encoded (<see cref="EncodedReplicateRequest"/>).</summary>
        [BindServiceMethod(typeof(Replica), nameof(BindService))]
        public abstract class EncodedReplicaBase
        {
            public virtual Task<ReplicateReply> Replicate(EncodedReplicateRequest request, ServerCallContext context) =>
                throw new RpcException(new Status(StatusCode.Unimplemented, ""));

            public virtual Task<ReadReply> Read(ReadRequest request, ServerCallContext context) =>
                throw new RpcException(new Status(StatusCode.Unimplemented, ""));
        }
    }
}
