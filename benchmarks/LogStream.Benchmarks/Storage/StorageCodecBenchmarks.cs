using BenchmarkDotNet.Attributes;
using LogStream.Storage;

namespace LogStream.Benchmarks.Storage;

/// <summary>Encoding, decoding and content hash of one ~250-byte record.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class StorageCodecBenchmarks
{
    private readonly LogRecord _record = BenchData.Record(4_200);
    private readonly byte[] _buffer = new byte[1024];
    private byte[] _encoded = [];

    [GlobalSetup]
    public void Setup()
    {
        _encoded = LogRecordCodec.Encode(_record);
        Console.WriteLine($"// encoded record: {_encoded.Length} bytes (message {_record.Message.Length} chars, id {_record.Id.Length}, source {_record.Source.Length})");
    }

    [Benchmark]
    public int Encode() => LogRecordCodec.Encode(_record, _buffer);

    [Benchmark]
    public LogRecord Decode() => LogRecordCodec.Decode(_encoded);

    [Benchmark]
    public ulong ContentHash() => LogRecordCodec.ComputeContentHash(_encoded);
}
