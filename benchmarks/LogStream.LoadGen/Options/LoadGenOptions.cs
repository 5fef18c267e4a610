namespace LogStream.LoadGen.Options;

/// <summary>Write consistency of <c>POST /api/logs</c> and read consistency of <c>GET /api/logs</c> (DESIGN §9).</summary>
public enum Consistency
{
    One,
    Quorum,
    All,
}

/// <summary>Body format of a write: a JSON array, or NDJSON (one record per line).</summary>
public enum PayloadFormat
{
    Json,
    Ndjson,
}

/// <summary>Everything one run of the load generator needs; filled by <see cref="OptionParser"/>.</summary>
public sealed class LoadGenOptions
{
    public const long DefaultRecords = 200_000;
    public const int DefaultBatch = 1000;
    public const int DefaultConcurrency = 8;
    public const int DefaultSources = 8;
    public const double DefaultErrorRate = 0.03;

    /// <summary>Tuned so that a default record is about 250 bytes of JSON (the record size).</summary>
    public const int DefaultMessageBytes = 56;

    public const int DefaultQueries = 200;
    public const int DefaultQueryConcurrency = 4;
    public const int DefaultQueryLimit = 100;
    public const int DefaultVerifyPageSize = 1000;

    public static readonly IReadOnlyList<Uri> DefaultNodes =
        [new("http://localhost:5100/"), new("http://localhost:5101/"), new("http://localhost:5102/")];

    /// <summary>Coordinators; requests go to them round-robin.</summary>
    public IReadOnlyList<Uri> Nodes { get; set; } = DefaultNodes;

    /// <summary>Records of the timed ingest phase (ignored when <see cref="Duration"/> is set).</summary>
    public long Records { get; set; } = DefaultRecords;

    /// <summary>When set, ingest for this long instead of a fixed number of records.</summary>
    public TimeSpan? Duration { get; set; }

    /// <summary>Records per request; 1 means single-record requests.</summary>
    public int Batch { get; set; } = DefaultBatch;

    /// <summary>Requests in flight during ingest.</summary>
    public int Concurrency { get; set; } = DefaultConcurrency;

    public Consistency Consistency { get; set; } = Consistency.Quorum;

    public PayloadFormat Format { get; set; } = PayloadFormat.Json;

    public int Sources { get; set; } = DefaultSources;

    /// <summary>Fraction of records at level ERROR or FATAL (FATAL is a twentieth of them).</summary>
    public double ErrorRate { get; set; } = DefaultErrorRate;

    /// <summary>Mean message length in bytes; a record is about 195 bytes of JSON plus the message.</summary>
    public int MessageBytes { get; set; } = DefaultMessageBytes;

    /// <summary>Seed of the record generator; random when not given.</summary>
    public ulong? Seed { get; set; }

    /// <summary>Prefix of every record id (<c>{runId}-{sequence}</c>); random when not given, so reruns never collide.</summary>
    public string? RunId { get; set; }

    /// <summary>Timestamp of the first record; by default the run's records end at the moment they are generated.</summary>
    public DateTimeOffset? StartTime { get; set; }

    /// <summary>Timestamp distance between consecutive records.</summary>
    public TimeSpan TimeStep { get; set; } = TimeSpan.FromMicroseconds(10);

    /// <summary>Send attribute values as JSON strings only (status and duration_ms are numbers otherwise).</summary>
    public bool StringAttributes { get; set; }

    /// <summary>Records sent before the timed phase (not measured, but verified); null means one request per connection.</summary>
    public long? WarmupRecords { get; set; }

    public int Queries { get; set; } = DefaultQueries;

    public int QueryConcurrency { get; set; } = DefaultQueryConcurrency;

    public int QueryLimit { get; set; } = DefaultQueryLimit;

    public Consistency QueryConsistency { get; set; } = Consistency.Quorum;

    /// <summary>After ingest, read back every source's ERROR records from every node and compare with what was acked.</summary>
    public bool Verify { get; set; }

    public int VerifyPageSize { get; set; } = DefaultVerifyPageSize;

    /// <summary>Generate and serialize only; no HTTP at all.</summary>
    public bool DryRun { get; set; }

    /// <summary>Further attempts of a failed write (same bytes, same ids, so idempotent); 0 = none.</summary>
    public int Retries { get; set; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where to write the machine-readable result, if anywhere.</summary>
    public string? JsonPath { get; set; }

    /// <summary>Threads that serialize the batches before the timed phase (--duration always uses one, in the background).</summary>
    public int GeneratorThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>No progress lines on standard error.</summary>
    public bool Quiet { get; set; }

    /// <summary>The warmup actually used: one request per connection unless given; none when nothing is ingested.</summary>
    public long EffectiveWarmupRecords => WarmupRecords ?? (DryRun || (Duration is null && Records == 0) ? 0 : (long)Concurrency * Batch);
}

/// <summary>Wire names of the enums, exactly as the public API spells them.</summary>
public static class OptionNames
{
    public static string ToWire(this Consistency consistency) => consistency switch
    {
        Consistency.One => "ONE",
        Consistency.Quorum => "QUORUM",
        Consistency.All => "ALL",
        _ => throw new ArgumentOutOfRangeException(nameof(consistency), consistency, null),
    };

    public static string ToWire(this PayloadFormat format) => format == PayloadFormat.Json ? "json" : "ndjson";

    public static string ContentType(this PayloadFormat format) =>
        format == PayloadFormat.Json ? "application/json" : "application/x-ndjson";
}
