namespace LogStream.Node.Api;

/// <summary>
/// RFC 3339 timestamps read straight from UTF-8 bytes, for the common spellings only:
/// <c>yyyy-MM-ddTHH:mm:ss[.fraction]</c> then <c>Z</c> or <c>±hh:mm</c> (ASCII digits, <c>T</c>/<c>t</c>/space,
/// <c>Z</c>/<c>z</c>, fraction of 1–9 digits truncated to 100 ns, years 2–9998, offsets up to ±13:59). It accepts
/// nothing that <see cref="RecordBatchParser.TryParseTimestamp"/> refuses and gives the same instant; anything else
/// is left to that parser (false here does not mean invalid).
/// </summary>
internal static class Rfc3339Bytes
{
    public static bool TryParseUtcTicks(ReadOnlySpan<byte> text, out long utcTicks)
    {
        utcTicks = 0;
        if (text.Length < 20 || text[4] != '-' || text[7] != '-' || text[10] is not ((byte)'T' or (byte)'t' or (byte)' ')
            || text[13] != ':' || text[16] != ':')
            return false;
        if (!Digits(text, 0, 4, out var year) || !Digits(text, 5, 2, out var month) || !Digits(text, 8, 2, out var day)
            || !Digits(text, 11, 2, out var hour) || !Digits(text, 14, 2, out var minute) || !Digits(text, 17, 2, out var second))
            return false;
        if (year is < 2 or > 9998 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
            return false;

        var at = 19;
        long fraction = 0;
        if (text[at] == '.')
        {
            var digits = 0;
            at++;
            while (at < text.Length && (uint)(text[at] - '0') <= 9)
            {
                if (digits < 7)
                    fraction = (fraction * 10) + (text[at] - '0');
                digits++;
                at++;
            }
            if (digits is 0 or > 9)
                return false;
            for (var pad = digits; pad < 7; pad++)
                fraction *= 10;
        }

        long offsetMinutes;
        var rest = text[at..];
        if (rest.Length == 1 && rest[0] is (byte)'Z' or (byte)'z')
        {
            offsetMinutes = 0;
        }
        else if (rest.Length == 6 && rest[0] is (byte)'+' or (byte)'-' && rest[3] == ':'
                 && Digits(rest, 1, 2, out var offsetHours) && Digits(rest, 4, 2, out var offsetMinute)
                 && offsetHours <= 13 && offsetMinute <= 59)
        {
            offsetMinutes = (offsetHours * 60) + offsetMinute;
            if (rest[0] == '-')
                offsetMinutes = -offsetMinutes;
        }
        else
        {
            return false;
        }

        utcTicks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks + fraction - (offsetMinutes * TimeSpan.TicksPerMinute);
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> text, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var digit = (uint)(text[i] - '0');
            if (digit > 9)
                return false;
            value = (value * 10) + (int)digit;
        }
        return true;
    }
}
