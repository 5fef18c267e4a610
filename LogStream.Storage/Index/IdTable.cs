using System.Buffers;
using System.Runtime.InteropServices;

namespace LogStream.Storage;

/// <summary>
/// The id index of a bucket's log segments: 64-bit id hash → record ordinal, with no string and no object per record.
/// Open addressing (linear probing) inside small chunks, and extendible hashing across them (a directory indexed by
/// the top bits of the hash): a chunk (native memory: the collector never copies or scans it) grows by doubling up
/// to <see cref="MaxChunkSlots"/> slots (~40 KiB), then splits in two, so growth allocates one small chunk at a time and never one huge array, and a lookup never waits
/// for a rehash of the whole table. A slot holds the ordinal (4 bytes) and an 8-bit tag of the hash (1 byte); the
/// full hash is read from the record list (<see cref="IdTable(Func{int, ulong}, Action{TimeSpan})"/>) only when the tag matches.
/// A hash match is not an id match: callers confirm each candidate against the stored id bytes.
/// Single-threaded: the owner serialises calls (the bucket's gate).
/// </summary>
internal sealed unsafe class IdTable : IDisposable
{
    public const int MinChunkSlots = 64;
    public const int MaxChunkSlots = 8192;
    private const int MaxDepth = 20;

    private readonly Func<int, ulong> _hashOf;
    private readonly Action<TimeSpan>? _grew;
    private Chunk[] _directory;
    private int _globalDepth;
    private long _bytes;

    /// <param name="hashOf">The id hash of a record ordinal already added.</param>
    /// <param name="grew">Told how long each growth (a chunk doubled or split) took: the longest a writer waited for it.</param>
    public IdTable(Func<int, ulong> hashOf, Action<TimeSpan>? grew = null)
    {
        _hashOf = hashOf;
        _grew = grew;
        _directory = [NewChunk(MinChunkSlots, 0)];
        _bytes += IntPtr.Size;
    }

    public int Count { get; private set; }

    /// <summary>Memory held by slots, tags and the directory.</summary>
    public long Bytes => _bytes;

    /// <summary>The ordinals whose id hash equals <paramref name="hash"/> (usually none or one).</summary>
    public Matches Find(ulong hash) => new(this, ChunkFor(hash), hash);

    /// <summary>Adds an ordinal for <paramref name="hash"/>. The caller made sure it is not there yet.</summary>
    public void Add(ulong hash, int ordinal)
    {
        var chunk = ChunkFor(hash);
        if (chunk.Count + 1 > chunk.Length / 4 * 3)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            MakeRoom(chunk, hash);
            _grew?.Invoke(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            chunk = ChunkFor(hash);
        }
        Insert(chunk, hash, ordinal);
        Count++;
    }

    /// <summary>Removes one ordinal (a failed append's records); false when absent.</summary>
    public bool Remove(ulong hash, int ordinal)
    {
        var chunk = ChunkFor(hash);
        var mask = chunk.Length - 1;
        for (var i = (int)hash & mask; chunk.Slots[i] != 0; i = (i + 1) & mask)
        {
            if (chunk.Slots[i] == (uint)ordinal + 1)
            {
                Delete(chunk, i);
                Count--;
                return true;
            }
        }
        return false;
    }

    /// <summary>Frees the chunks (native memory). The owner calls it under the same lock as every other call.</summary>
    public void Dispose()
    {
        foreach (var chunk in _directory.Distinct())
        {
            if (chunk.Slots != null)
                chunk.Free();
        }
        _directory = [];
        _bytes = 0;
        Count = 0;
    }

    private Chunk ChunkFor(ulong hash) => _directory[_globalDepth == 0 ? 0 : (int)(hash >> (64 - _globalDepth))];

    private static byte Tag(ulong hash) => (byte)(hash >> 32);

    private void Insert(Chunk chunk, ulong hash, int ordinal)
    {
        var mask = chunk.Length - 1;
        var i = (int)hash & mask;
        while (chunk.Slots[i] != 0)
            i = (i + 1) & mask;
        chunk.Slots[i] = (uint)ordinal + 1;
        chunk.Tags[i] = Tag(hash);
        chunk.Count++;
    }

    /// <summary>Backward-shift deletion: later members of the probe run move up, so no tombstone is left.</summary>
    private void Delete(Chunk chunk, int hole)
    {
        var mask = chunk.Length - 1;
        var j = hole;
        while (true)
        {
            j = (j + 1) & mask;
            if (chunk.Slots[j] == 0)
                break;
            var home = (int)_hashOf((int)chunk.Slots[j] - 1) & mask;
            var staysPut = hole <= j ? home > hole && home <= j : home > hole || home <= j;
            if (!staysPut)
            {
                chunk.Slots[hole] = chunk.Slots[j];
                chunk.Tags[hole] = chunk.Tags[j];
                hole = j;
            }
        }
        chunk.Slots[hole] = 0;
        chunk.Tags[hole] = 0;
        chunk.Count--;
    }

    private void MakeRoom(Chunk chunk, ulong hash)
    {
        if (chunk.Length < MaxChunkSlots || chunk.Depth >= MaxDepth || !TrySplit(chunk))
            Resize(chunk, chunk.Length * 2);
    }

    private void Resize(Chunk chunk, int slots)
    {
        var ordinals = Drain(chunk, out var count);
        try
        {
            _bytes += (slots - chunk.Length) * 5L;
            chunk.Free();
            chunk.Allocate(slots);
            for (var k = 0; k < count; k++)
                Insert(chunk, _hashOf(ordinals[k]), ordinals[k]);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ordinals);
        }
    }

    /// <summary>Splits a full chunk on the next hash bit; false (nothing changed) when every entry would land on one side.</summary>
    private bool TrySplit(Chunk chunk)
    {
        var bit = 63 - chunk.Depth;
        var ordinals = Drain(chunk, out var count, clear: false);
        try
        {
            var high = 0;
            for (var k = 0; k < count; k++)
                high += (int)((_hashOf(ordinals[k]) >> bit) & 1);
            if (high == 0 || high == count)
                return false;

            if (chunk.Depth == _globalDepth)
            {
                // Double the directory: each entry now covers two indexes.
                var doubled = new Chunk[_directory.Length * 2];
                for (var i = 0; i < _directory.Length; i++)
                    doubled[2 * i] = doubled[2 * i + 1] = _directory[i];
                _bytes += _directory.Length * (long)IntPtr.Size;
                _directory = doubled;
                _globalDepth++;
            }
            var depth = chunk.Depth + 1;
            var sibling = NewChunk(chunk.Length, depth);
            chunk.Clear();
            chunk.Count = 0;
            chunk.Depth = depth;
            for (var k = 0; k < count; k++)
            {
                var hash = _hashOf(ordinals[k]);
                Insert(((hash >> bit) & 1) == 0 ? chunk : sibling, hash, ordinals[k]);
            }
            // Directory indexes whose bit at this depth is 1 now point at the sibling.
            var shift = _globalDepth - depth;
            for (var i = 0; i < _directory.Length; i++)
            {
                if (ReferenceEquals(_directory[i], chunk) && ((i >> shift) & 1) == 1)
                    _directory[i] = sibling;
            }
            return true;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ordinals);
        }
    }

    /// <summary>The chunk's ordinals in a pooled array (the caller returns it); cleared unless told otherwise.</summary>
    private static int[] Drain(Chunk chunk, out int count, bool clear = true)
    {
        var ordinals = ArrayPool<int>.Shared.Rent(Math.Max(chunk.Count, 1));
        count = 0;
        for (var i = 0; i < chunk.Length; i++)
        {
            if (chunk.Slots[i] != 0)
                ordinals[count++] = (int)chunk.Slots[i] - 1;
        }
        if (clear)
            chunk.Count = 0;
        return ordinals;
    }

    private Chunk NewChunk(int slots, int depth)
    {
        _bytes += slots * 5L + 48;
        var chunk = new Chunk { Depth = depth };
        chunk.Allocate(slots);
        return chunk;
    }

    internal sealed class Chunk
    {
        /// <summary>In native memory (slots, then tags, one block): out of the garbage collector's way.</summary>
        public uint* Slots;
        public byte* Tags;
        public int Length;

        public void Allocate(int slots)
        {
            var block = (byte*)NativeMemory.AllocZeroed((nuint)slots * 5);
            Slots = (uint*)block;
            Tags = block + (nint)slots * 4;
            Length = slots;
        }

        public void Clear() => NativeMemory.Clear(Slots, (nuint)Length * 5);

        public void Free()
        {
            NativeMemory.Free(Slots);
            Slots = null;
            Tags = null;
            Length = 0;
        }
        public int Depth;
        public int Count;
    }

    /// <summary>Enumerates the ordinals stored under one hash, without allocating.</summary>
    public struct Matches
    {
        private readonly IdTable _table;
        private readonly Chunk _chunk;
        private readonly ulong _hash;
        private readonly byte _tag;
        private int _next;

        internal Matches(IdTable table, Chunk chunk, ulong hash)
        {
            _table = table;
            _chunk = chunk;
            _hash = hash;
            _tag = Tag(hash);
            _next = (int)hash & (chunk.Length - 1);
        }

        public int Current { get; private set; }

        public bool MoveNext()
        {
            var mask = _chunk.Length - 1;
            while (true)
            {
                var slot = _chunk.Slots[_next];
                if (slot == 0)
                    return false;
                var at = _next;
                _next = (_next + 1) & mask;
                if (_chunk.Tags[at] == _tag && _table._hashOf((int)slot - 1) == _hash)
                {
                    Current = (int)slot - 1;
                    return true;
                }
            }
        }

        public readonly Matches GetEnumerator() => this;
    }
}
