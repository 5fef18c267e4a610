namespace LogStream.Storage;

/// <summary>
/// The parts of sealed indexes that live in memory while used (the fences of id indexes): loaded on first use, kept
/// within <see cref="CapacityBytes"/>, least recently used evicted first. Keyed by the owning segment; a retired
/// segment takes its entry with it.
/// </summary>
internal sealed class SealedIndexCache(long capacityBytes)
{
    private readonly object _gate = new();
    private readonly Dictionary<object, Item> _items = new(ReferenceEqualityComparer.Instance);
    private long _bytes;
    private long _clock;
    private long _loads;
    private long _evictions;

    public long CapacityBytes { get; } = capacityBytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Entries loaded from disk since start (a miss).</summary>
    public long Loads => Interlocked.Read(ref _loads);

    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>The cached value of <paramref name="owner"/>, loaded (outside the lock: it reads the disk) when missing.</summary>
    public T GetOrLoad<T>(object owner, Func<T> load, Func<T, long> bytesOf) where T : class
    {
        lock (_gate)
        {
            if (_items.TryGetValue(owner, out var item))
            {
                item.LastUse = ++_clock;
                return (T)item.Value;
            }
        }
        var value = load();
        var bytes = bytesOf(value);
        lock (_gate)
        {
            if (_items.TryGetValue(owner, out var raced))
            {
                raced.LastUse = ++_clock;
                return (T)raced.Value;
            }
            _items[owner] = new Item(value, bytes) { LastUse = ++_clock };
            Interlocked.Add(ref _bytes, bytes);
            Interlocked.Increment(ref _loads);
            while (_bytes > CapacityBytes && _items.Count > 1)
                EvictOldest(owner);
        }
        return value;
    }

    public void Remove(object owner)
    {
        lock (_gate)
        {
            if (_items.Remove(owner, out var item))
                Interlocked.Add(ref _bytes, -item.Bytes);
        }
    }

    private void EvictOldest(object keep)
    {
        object? oldest = null;
        var oldestUse = long.MaxValue;
        foreach (var (owner, item) in _items)
        {
            if (item.LastUse < oldestUse && !ReferenceEquals(owner, keep))
            {
                oldest = owner;
                oldestUse = item.LastUse;
            }
        }
        if (oldest is null)
            return;
        _items.Remove(oldest, out var evicted);
        Interlocked.Add(ref _bytes, -evicted!.Bytes);
        Interlocked.Increment(ref _evictions);
    }

    private sealed class Item(object value, long bytes)
    {
        public object Value { get; } = value;
        public long Bytes { get; } = bytes;
        public long LastUse;
    }
}
