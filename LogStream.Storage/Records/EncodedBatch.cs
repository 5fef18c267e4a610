using System.Buffers;
using System.Text;

namespace LogStream.Storage;

/// <summary>
/// A batch of records already in the canonical encoding (<see cref="LogRecordCodec"/>), each framed as in a log
/// segment (u32 length, u32 CRC-32C, payload: docs/storage-format.md), in one pooled buffer, with what the store needs
/// of each record without decoding it: id, source, timestamp, level and content hash. The write path builds it once
/// (from the request body at the coordinator, from the replicate request at a replica) and every copy is made from it:
/// the local append writes its frames as they are, the peers' requests are cut from its payloads.
/// Reference counted (<see cref="Retain"/>, <see cref="Dispose"/>): the buffer goes back to the pool when the last
/// holder lets go, e.g. a replica send still running after the client was answered.
/// </summary>
public sealed class EncodedBatch : IDisposable
{
    private const int MaxCachedSources = 16;

    private byte[] _buffer;
    private int _length;
    private PendingFrame[] _frames;
    private int _count;
    private int _references = 1;
    private int _pendingOffset = -1;
    private (byte[] Utf8, string Value)[]? _sources;
    private int _sourceCount;

    /// <param name="capacityBytes">Expected frame bytes (the buffer grows when needed).</param>
    /// <param name="capacityRecords">Expected records.</param>
    public EncodedBatch(int capacityBytes = 4096, int capacityRecords = 16)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacityBytes, 256));
        _frames = ArrayPool<PendingFrame>.Shared.Rent(Math.Max(capacityRecords, 1));
    }

    public int Count => _count;

    /// <summary>Frame bytes held (headers and payloads).</summary>
    public int Length => _length;

    internal byte[] Buffer => _buffer;

    /// <summary>The frames' descriptions; valid for indexes below <see cref="Count"/>.</summary>
    internal PendingFrame[] FramesArray => _frames;

    internal ref readonly PendingFrame FrameAt(int index) => ref _frames[CheckIndex(index)];

    /// <summary>Bytes of one record's canonical encoding.</summary>
    public int PayloadLengthAt(int index) => _frames[CheckIndex(index)].PayloadLength;

    /// <summary>The record's id (made from its encoded bytes on first ask: a replica never needs it as a string).</summary>
    public string IdAt(int index)
    {
        ref var frame = ref _frames[CheckIndex(index)];
        if (frame.Id is null)
        {
            EncodedRecord.TryReadId(PayloadAt(index), out var id);
            frame.Id = Encoding.UTF8.GetString(id);
        }
        return frame.Id;
    }

    public string SourceAt(int index) => _frames[CheckIndex(index)].Source;

    /// <summary>Timestamp as 100 ns ticks since the Unix epoch.</summary>
    public long UnixTicksAt(int index) => _frames[CheckIndex(index)].Ticks;

    public LogSeverity LevelAt(int index) => _frames[CheckIndex(index)].Level;

    /// <summary>The canonical encoding of one record (what the peers receive and the content hash covers).</summary>
    public ReadOnlySpan<byte> PayloadAt(int index)
    {
        ref readonly var frame = ref _frames[CheckIndex(index)];
        return _buffer.AsSpan(frame.FrameOffset + Frame.HeaderBytes, frame.PayloadLength);
    }

    /// <summary>The record itself (hints, tests: the write path never needs it).</summary>
    public LogRecord Decode(int index)
    {
        ref readonly var frame = ref _frames[CheckIndex(index)];
        EncodedRecord.TryParse(PayloadAt(index), out var view);
        return view.ToRecord(IdAt(index));
    }

    /// <summary>Encodes every record into a new batch.</summary>
    /// <exception cref="ArgumentException">A record is null.</exception>
    public static EncodedBatch FromRecords(IReadOnlyList<LogRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var bytes = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i] ?? throw new ArgumentException($"records[{i}] is null.", nameof(records));
            bytes += Frame.HeaderBytes + LogRecordCodec.GetEncodedLength(record);
        }
        var batch = new EncodedBatch(bytes, records.Count);
        foreach (var record in records)
            batch.Add(record);
        return batch;
    }

    /// <summary>Appends one record, encoded.</summary>
    public void Add(LogRecord record)
    {
        var length = LogRecordCodec.GetEncodedLength(record);
        LogRecordCodec.Encode(record, BeginRecord(length));
        CommitRecord(record.Id, record.Source);
    }

    /// <summary>
    /// Room for the payload of the next record, exactly <paramref name="payloadLength"/> bytes: write the canonical
    /// encoding into it, then call <see cref="CommitRecord"/> (or <see cref="AbandonRecord"/>).
    /// </summary>
    public Span<byte> BeginRecord(int payloadLength)
    {
        if (_pendingOffset >= 0)
            throw new InvalidOperationException("The previous record was neither committed nor abandoned.");
        var needed = _length + Frame.HeaderBytes + payloadLength;
        if (needed > _buffer.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
            _buffer.AsSpan(0, _length).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = grown;
        }
        _pendingOffset = _length;
        var frame = _buffer.AsSpan(_length, Frame.HeaderBytes + payloadLength);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payloadLength);
        return frame[Frame.HeaderBytes..];
    }

    /// <summary>
    /// Completes the record begun with <see cref="BeginRecord"/>: frame header (CRC), content hash, timestamp and level
    /// read from the payload. The caller vouches that the payload is a canonical encoding with this id (null: made from
    /// the payload when asked for) and source.
    /// </summary>
    public void CommitRecord(string? id, string source)
    {
        if (_pendingOffset < 0)
            throw new InvalidOperationException("No record was begun.");
        var offset = _pendingOffset;
        var payloadLength = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(offset));
        var frame = _buffer.AsSpan(offset, Frame.HeaderBytes + payloadLength);
        var payload = frame[Frame.HeaderBytes..];
        Frame.WriteHeader(frame, payloadLength);
        if (_count == _frames.Length)
        {
            var grown = ArrayPool<PendingFrame>.Shared.Rent(_frames.Length * 2);
            _frames.AsSpan(0, _count).CopyTo(grown);
            ArrayPool<PendingFrame>.Shared.Return(_frames, clearArray: true);
            _frames = grown;
        }
        _frames[_count++] = new PendingFrame
        {
            FrameOffset = offset,
            PayloadLength = payloadLength,
            Ticks = EncodedRecord.ReadTicks(payload),
            Level = EncodedRecord.ReadLevel(payload),
            Id = id,
            Source = source,
            ContentHash = LogRecordCodec.ComputeContentHash(payload),
        };
        _length = offset + frame.Length;
        _pendingOffset = -1;
    }

    /// <summary>Forgets the record begun with <see cref="BeginRecord"/>.</summary>
    public void AbandonRecord() => _pendingOffset = -1;

    /// <summary>
    /// Appends a record received in the canonical encoding (a peer's replicate request), after checking it. A
    /// well-formed encoding that is not canonical (overlong varints, invalid UTF-8) is decoded and re-encoded, exactly
    /// as storing the decoded record would; a malformed one is refused.
    /// </summary>
    /// <returns>False when the bytes are not a record encoding.</returns>
    public bool TryAddEncoded(ReadOnlySpan<byte> encoded)
    {
        if (!EncodedRecord.TryParse(encoded, out var view))
            return false;
        if (!EncodedRecord.IsCanonical(encoded))
        {
            Add(view.ToRecord());
            return true;
        }
        var source = SourceString(view.Source);
        encoded.CopyTo(BeginRecord(encoded.Length));
        CommitRecord(null, source);
        return true;
    }

    /// <summary>
    /// The string of a source name: batches hold few distinct sources, so each is decoded once per batch.
    /// </summary>
    public string SourceString(ReadOnlySpan<byte> utf8)
    {
        _sources ??= new (byte[], string)[MaxCachedSources];
        for (var i = 0; i < _sourceCount; i++)
        {
            if (utf8.SequenceEqual(_sources[i].Utf8))
                return _sources[i].Value;
        }
        var value = Encoding.UTF8.GetString(utf8);
        if (_sourceCount < MaxCachedSources)
            _sources[_sourceCount++] = (utf8.ToArray(), value);
        return value;
    }

    /// <summary>Takes one more reference: the buffer stays until every holder has called <see cref="Dispose"/>.</summary>
    public EncodedBatch Retain()
    {
        if (Interlocked.Increment(ref _references) <= 1)
            throw new ObjectDisposedException(nameof(EncodedBatch));
        return this;
    }

    /// <summary>Lets go of one reference; the last one returns the buffers to the pool.</summary>
    public void Dispose()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left != 0)
        {
            if (left < 0)
                Interlocked.Increment(ref _references);
            return;
        }
        var buffer = _buffer;
        var frames = _frames;
        _buffer = [];
        _frames = [];
        _count = 0;
        _length = 0;
        ArrayPool<byte>.Shared.Return(buffer);
        ArrayPool<PendingFrame>.Shared.Return(frames, clearArray: true);
    }

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)_count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The batch holds {_count} records.");
        return index;
    }
}
