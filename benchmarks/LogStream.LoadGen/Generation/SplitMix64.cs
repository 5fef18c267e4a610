namespace LogStream.LoadGen.Generation;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, statistically sound for load generation. Each record gets its
/// own stream seeded from (seed, sequence), so a record's content depends on nothing else: not on the batch size,
/// the thread that generated it, nor the order of generation.
/// </summary>
internal struct SplitMix64(ulong state)
{
    private ulong _state = state;

    public static SplitMix64 ForRecord(ulong seed, long sequence) =>
        new(Mix(seed ^ ((ulong)sequence * 0xD1B54A32D192ED03UL)));

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        return Mix(z);
    }

    /// <summary>Uniform in [0, n).</summary>
    public int Next(int n) => (int)(((Next() >> 32) * (ulong)n) >> 32);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
