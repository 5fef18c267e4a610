using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using LogStream.LoadGen.Generation;
using LogStream.LoadGen.Options;
using LogStream.Node.Api;
using LogStream.Node.Replication;
using LogStream.Node.Replication.Grpc;
using LogStream.Node.Storage;
using Microsoft.Extensions.Time.Testing;

namespace LogStream.Benchmarks.WritePath;

/// <summary>
/// The CPU pieces of one <c>POST /api/logs</c> batch of 1000 load-generator records (~250 bytes of JSON each), without
/// the network and the disk: parsing and validating the body, encoding for the replicas, the replica request on the
/// wire (serialize at the coordinator, parse and decode at the replica).
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
}
