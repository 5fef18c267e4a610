using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LogStream.Web.Demo;

/// <summary>
/// Realistic application logs for the demo: services of a small shop, mostly INFO, some DEBUG and WARN, and exactly
/// <c>round(count × errorRate)</c> ERRORs (about 3 %) with messages a person would recognise. Reproducible from a seed.
/// </summary>
public static class DemoGenerator
{
    public static readonly IReadOnlyList<string> Sources =
        ["checkout", "payments", "inventory", "search", "auth", "shipping", "frontend", "notifications"];

    private static readonly string[] Regions = ["eu-west-1", "eu-central-1", "us-east-1"];

    private static readonly Dictionary<string, string[]> InfoMessages = new(StringComparer.Ordinal)
    {
        ["checkout"] = ["order {order} placed: {items} items, total {amount} EUR", "cart {cart} converted to order {order}"],
        ["payments"] = ["payment for order {order} captured ({amount} EUR, card ending {card})", "refund issued for order {order}"],
        ["inventory"] = ["reserved {items} units of sku-{sku} for order {order}", "stock level of sku-{sku} is {stock}"],
        ["search"] = ["query \"{term}\" answered {hits} hits in {ms} ms", "index segment merged in {ms} ms"],
        ["auth"] = ["user u{user} signed in", "token refreshed for user u{user}"],
        ["shipping"] = ["label printed for order {order} ({carrier})", "parcel of order {order} handed to {carrier}"],
        ["frontend"] = ["GET /product/sku-{sku} 200 in {ms} ms", "GET /cart 200 in {ms} ms"],
        ["notifications"] = ["order confirmation mailed to u{user}", "push notification sent to u{user}"],
    };

    private static readonly Dictionary<string, string[]> WarnMessages = new(StringComparer.Ordinal)
    {
        ["checkout"] = ["cart {cart} holds a price older than 15 min; repriced"],
        ["payments"] = ["payment provider answered in {ms} ms (slow)"],
        ["inventory"] = ["stock of sku-{sku} below reorder point ({stock} left)"],
        ["search"] = ["query \"{term}\" took {ms} ms (slow)"],
        ["auth"] = ["3 failed sign-ins for user u{user}"],
        ["shipping"] = ["{carrier} rate API retried once"],
        ["frontend"] = ["GET /product/sku-{sku} 404 in {ms} ms"],
        ["notifications"] = ["mail to u{user} deferred by the relay"],
    };

    private static readonly Dictionary<string, string[]> ErrorMessages = new(StringComparer.Ordinal)
    {
        ["checkout"] = ["order {order} failed: payments answered 503", "could not save order {order}: deadlock, transaction rolled back"],
        ["payments"] = ["payment gateway timeout after 5000 ms for order {order}", "card ending {card} declined: fraud check unavailable"],
        ["inventory"] = ["reservation of sku-{sku} failed: stock would go negative", "inventory database connection refused"],
        ["search"] = ["search index shard 3 unavailable; answered partial results"],
        ["auth"] = ["token signing key not found (kid k{sku})", "LDAP bind failed for user u{user}"],
        ["shipping"] = ["{carrier} API answered 500 for order {order}"],
        ["frontend"] = ["GET /checkout 500 in {ms} ms: upstream checkout failed", "unhandled exception rendering /product/sku-{sku}"],
        ["notifications"] = ["mail relay refused connection; 12 messages queued"],
    };

    private static readonly string[] Terms = ["red shoes", "usb-c cable", "winter jacket", "coffee beans", "desk lamp"];
    private static readonly string[] Carriers = ["DHL", "UPS", "GLS", "PostNL"];

    /// <summary>
    /// <paramref name="count"/> records with ids <c>{runId}-00000…</c>, timestamps spread over the <paramref name="spread"/>
    /// before <paramref name="now"/>, sources from <see cref="Sources"/>.
    /// </summary>
    public static IReadOnlyList<DemoRecord> Generate(string runId, int count, double errorRate, DateTimeOffset now, TimeSpan spread, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(errorRate, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(errorRate, 1);
        var random = new Random(seed);

        // Exactly round(count × rate) errors at random positions, so every run's ERROR count is known.
        var errors = (int)Math.Round(count * errorRate, MidpointRounding.AwayFromZero);
        var isError = new bool[count];
        foreach (var index in Enumerable.Range(0, count).OrderBy(_ => random.Next()).Take(errors))
            isError[index] = true;

        var records = new List<DemoRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var source = Sources[random.Next(Sources.Count)];
            var level = isError[i] ? "ERROR" : random.NextDouble() switch
            {
                < 0.10 => "DEBUG",
                < 0.88 => "INFO",
                _ => "WARN",
            };
            var templates = level switch
            {
                "ERROR" => ErrorMessages[source],
                "WARN" => WarnMessages[source],
                _ => InfoMessages[source],
            };
            var order = $"o-{random.Next(100_000, 999_999)}";
            var message = Fill(templates[random.Next(templates.Length)], random, order);
            var timestamp = now - TimeSpan.FromMilliseconds(random.NextDouble() * spread.TotalMilliseconds);
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["region"] = Regions[random.Next(Regions.Length)],
                ["trace_id"] = random.NextInt64().ToString("x16", CultureInfo.InvariantCulture),
                ["demo_run"] = runId,
            };
            if (message.Contains(order, StringComparison.Ordinal))
                attributes["order_id"] = order;
            records.Add(new DemoRecord($"{runId}-{i:D5}", timestamp, level, source, message, attributes));
        }
        return records;
    }

    /// <summary>The JSON array <c>POST /api/logs</c> takes (RFC 3339 UTC timestamps with milliseconds).</summary>
    public static string ToJson(IEnumerable<DemoRecord> records)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var record in records)
            {
                json.WriteStartObject();
                json.WriteString("id", record.Id);
                json.WriteString("timestamp", record.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                json.WriteString("level", record.Level);
                json.WriteString("source", record.Source);
                json.WriteString("message", record.Message);
                json.WriteStartObject("attributes");
                foreach (var (key, value) in record.Attributes)
                    json.WriteString(key, value);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Fill(string template, Random random, string order)
    {
        var text = new StringBuilder(template);
        text.Replace("{order}", order)
            .Replace("{cart}", $"c-{random.Next(10_000, 99_999)}")
            .Replace("{items}", random.Next(1, 8).ToString(CultureInfo.InvariantCulture))
            .Replace("{amount}", (random.Next(500, 50_000) / 100.0).ToString("0.00", CultureInfo.InvariantCulture))
            .Replace("{card}", random.Next(1000, 9999).ToString(CultureInfo.InvariantCulture))
            .Replace("{sku}", random.Next(1000, 9999).ToString(CultureInfo.InvariantCulture))
            .Replace("{stock}", random.Next(0, 40).ToString(CultureInfo.InvariantCulture))
            .Replace("{term}", Terms[random.Next(Terms.Length)])
            .Replace("{hits}", random.Next(0, 500).ToString(CultureInfo.InvariantCulture))
            .Replace("{ms}", random.Next(2, 2500).ToString(CultureInfo.InvariantCulture))
            .Replace("{user}", random.Next(1, 5000).ToString(CultureInfo.InvariantCulture))
            .Replace("{carrier}", Carriers[random.Next(Carriers.Length)]);
        return text.ToString();
    }
}
