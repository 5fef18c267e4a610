using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>A read buffer over a file that serves nearby reads without a system call each.</summary>
public sealed class FileWindow(SafeFileHandle file, long fileLength, int windowBytes = 256 * 1024) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(windowBytes);
    private long _start;
    private int _length;

    public long FileLength { get; set; } = fileLength;

    /// <summary>Bytes [offset, offset + length); <paramref name="backward"/> loads the window ending there (reverse scans).</summary>
    public ReadOnlyMemory<byte> Read(long offset, int length, bool backward = false)
    {
        if (offset >= _start && offset + length <= _start + _length)
            return _buffer.AsMemory((int)(offset - _start), length);

        var size = Math.Max(length, windowBytes);
        if (_buffer.Length < size)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(size);
        }
        var start = backward ? Math.Max(0, offset + length - size) : offset;
        var end = Math.Min(FileLength, start + size);
        if (end < offset + length)
            throw new EndOfStreamException($"Read past the end of the segment ({offset + length} > {FileLength}).");
        var total = 0;
        var want = (int)(end - start);
        while (total < want)
        {
            var read = RandomAccess.Read(file, _buffer.AsSpan(total, want - total), start + total);
            if (read == 0)
                throw new EndOfStreamException("The segment file is shorter than expected.");
            total += read;
        }
        _start = start;
        _length = total;
        return _buffer.AsMemory((int)(offset - _start), length);
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _length = 0;
    }
}
