using System.Collections.Concurrent;

namespace LogStream.Storage;

/// <summary>
/// What a node's long-lived structures hold in memory, by name (<c>id_tables</c>, <c>merkle_trees</c>, …): each
/// component registers a function that says how many bytes its structure holds now. Exported as the gauge
/// <c>logstream_memory_used_bytes{structure}</c> and compared with the configured budget by the node's health check.
/// </summary>
public sealed class MemoryLedger
{
    private readonly ConcurrentDictionary<string, Func<long>> _structures = new(StringComparer.Ordinal);

    /// <summary>Registers (or replaces) a structure. Keep the function cheap and thread-safe: scrapes call it.</summary>
    public void Register(string structure, Func<long> bytes) => _structures[structure] = bytes;

    /// <summary>Every structure with its bytes now, largest first.</summary>
    public IReadOnlyList<(string Structure, long Bytes)> Snapshot() =>
        _structures.Select(s => (s.Key, s.Value())).OrderByDescending(s => s.Item2).ToList();

    public long Total => _structures.Values.Sum(bytes => bytes());
}
