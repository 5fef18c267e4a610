using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Grpc.Core;
using LogStream.LoadGen.Generation;
using LogStream.LoadGen.Options;
using LogStream.Node.Api;
using LogStream.Node.Replication;
using LogStream.Node.Replication.Grpc;
using LogStream.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Benchmarks.WritePath;

/// <summary>
/// The CPU pieces of one <c>POST /api/logs</c> batch of 1000 load-generator records (~250 bytes of JSON each), without
/// the network and the disk: parsing and validating the body, encoding for the replicas, the replica request on the
/// wire (serialize at the coordinator, parse and decode at the replica). The first four are the path as it was (records
/// as <see cref="LogRecord"/> objects, one <c>ByteString</c> each on the wire); the <c>Encoded</c> ones are the path as
/// it is now (<see cref="EncodedBatch"/> from the body to the replica's append).
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class WritePathBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private RecordBatchParser _parser = null!;
    private byte[] _body = [];
    private IReadOnlyList<LogRecord> _records = [];
    private List<ByteString> _encoded = [];
    private byte[] _request = [];
    private EncodedBatch _batch = null!;
    private readonly ArrayBufferWriter<byte> _writer = new(512 * 1024);

    [Params(1000)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var generator = new RecordGenerator(new GeneratorSettings(42, "bench", Now.AddMinutes(-5), TimeSpan.FromMicroseconds(10), 8, 0.03, 56,
            PayloadFormat.Json, false));
        _body = generator.Generate(0, BatchSize, new GeneratorScratch(56)).Payload;
        _parser = new RecordBatchParser(new ApiOptions(), TimeSpan.FromDays(7), new FakeTimeProvider(Now));
        var parsed = _parser.Parse(_body, ndjson: false);
        if (!parsed.Valid)
            throw new InvalidOperationException(string.Join("; ", parsed.Errors));
        _records = parsed.Records;
        _encoded = _records.Select(LocalReplica.Encode).ToList();
        var request = new ReplicateRequest { Sender = "node-0" };
        request.Records.AddRange(_encoded);
        _request = request.ToByteArray();
        _batch = _parser.ParseEncoded(_body, ndjson: false).Batch!;
        Console.WriteLine($"// body {_body.Length} bytes, {BatchSize} records; replicate request {_request.Length} bytes");
    }

    /// <summary>Coordinator: JSON body to validated records.</summary>
    [Benchmark]
    public int Parse() => _parser.Parse(_body, ndjson: false).Records.Count;

    /// <summary>Coordinator: each record encoded once for the peers.</summary>
    [Benchmark]
    public int EncodeForPeers()
    {
        var encoded = new List<ByteString>(_records.Count);
        foreach (var record in _records)
            encoded.Add(LocalReplica.Encode(record));
        return encoded.Count;
    }

    /// <summary>Coordinator: the replicate request of one peer, serialized (what the gRPC client writes).</summary>
    [Benchmark]
    public int SerializeRequest()
    {
        var request = new ReplicateRequest { Sender = "node-0" };
        request.Records.AddRange(_encoded);
        return request.ToByteArray().Length;
    }

    /// <summary>Replica: the request parsed and its records decoded (what a replica does before appending).</summary>
    [Benchmark]
    public int ReceiveRequest() => LocalReplica.Decode(ReplicateRequest.Parser.ParseFrom(_request).Records).Count;

    /// <summary>Coordinator, now: JSON body to a validated, encoded batch.</summary>
    [Benchmark]
    public int ParseEncoded()
    {
        using var batch = _parser.ParseEncoded(_body, ndjson: false).Batch!;
        return batch.Count;
    }

    /// <summary>Coordinator, now: the replicate request of one peer written from the batch.</summary>
    [Benchmark]
    public int SerializeEncoded()
    {
        _writer.ResetWrittenCount();
        EncodedReplicateRequest.Serialize(new EncodedReplicateRequest(_batch, null, "node-0", false), new Serialization(_writer));
        return _writer.WrittenCount;
    }

    /// <summary>Replica, now: the request read into a batch, every record checked, ready to append.</summary>
    [Benchmark]
    public int ReceiveEncoded()
    {
        using var batch = EncodedReplicateRequest.Deserialize(new Deserialization(_request)).Batch;
        return batch.Count;
    }

    private sealed class Serialization(ArrayBufferWriter<byte> writer) : SerializationContext
    {
        public override void SetPayloadLength(int payloadLength)
        {
        }

        public override IBufferWriter<byte> GetBufferWriter() => writer;

        public override void Complete()
        {
        }
    }

    private sealed class Deserialization(byte[] bytes) : DeserializationContext
    {
        public override int PayloadLength => bytes.Length;

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(bytes);
    }
}
