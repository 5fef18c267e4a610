namespace LogStream.Storage;

/// <summary>Timestamps as stored everywhere on disk and on the wire: 100 ns ticks since 1970-01-01T00:00Z.</summary>
public static class UnixTicks
{
    public static long From(DateTimeOffset time) => time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    public static DateTimeOffset ToDateTimeOffset(long unixTicks) => new(unixTicks + DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.Zero);
}
