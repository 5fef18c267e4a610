using System.Diagnostics.Metrics;
using LogStream.Node.Diagnostics;

namespace LogStream.Node.Replication.Hints;

/// <summary>Hints stored, replayed, expired, pending per target, and corrupt regions found in hint segments.</summary>
public sealed class HintMetrics
{
    private readonly Counter<long> _stored;
    private readonly Counter<long> _replayed;
    private readonly Counter<long> _expired;
    private readonly Counter<long> _corrupt;
    private Func<IReadOnlyDictionary<string, long>>? _pending;

    public HintMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(InstrumentNames.HintsMeter);
        _stored = meter.CreateCounter<long>(InstrumentNames.HintsStored, "{record}", "Records stored durably as hints for a replica that did not acknowledge them.");
        _replayed = meter.CreateCounter<long>(InstrumentNames.HintsReplayed, "{record}", "Hinted records delivered to their target.");
        _expired = meter.CreateCounter<long>(InstrumentNames.HintsExpired, "{record}", "Hinted records dropped undelivered because they outlived the hint window.");
        _corrupt = meter.CreateCounter<long>(InstrumentNames.HintsCorrupt, "{region}", "Damaged regions of hint segments (CRC mismatch, bad header) skipped; their records are left to repair.");
        meter.CreateObservableGauge(InstrumentNames.HintsPending, ObservePending, "{record}", "Hinted records waiting for their target, by target.");
    }

    internal void Attach(Func<IReadOnlyDictionary<string, long>> pending) => _pending = pending;

    internal void Stored(int records) => _stored.Add(records);

    internal void Replayed(long records)
    {
        if (records > 0)
            _replayed.Add(records);
    }

    internal void Expired(long records)
    {
        if (records > 0)
            _expired.Add(records);
    }

    internal void Corrupt(int regions = 1) => _corrupt.Add(regions);

    private IEnumerable<Measurement<long>> ObservePending()
    {
        if (_pending is null)
            yield break;
        foreach (var (target, records) in _pending())
            yield return new Measurement<long>(records, new KeyValuePair<string, object?>("target", target));
    }
}
