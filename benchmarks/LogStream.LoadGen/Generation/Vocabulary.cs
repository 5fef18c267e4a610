using System.Text;

namespace LogStream.LoadGen.Generation;

/// <summary>The words realistic records are made of: services, users, paths, dependencies, and so on.</summary>
internal static class Vocabulary
{
    public static readonly string[] BaseSources =
    [
        "checkout", "payments", "auth", "search", "inventory", "shipping", "catalog", "cart",
        "orders", "users", "notifications", "recommendations", "gateway", "billing", "reviews", "pricing",
    ];

    // A few non-ASCII names so that the nodes' UTF-8 handling is exercised too.
    public static readonly string[] Users =
    [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "oscar", "peggy", "trent", "victor", "walter", "zoë", "josé", "李雷", "ana-maria",
    ];

    public static readonly string[] Paths =
    [
        "/api/v1/cart", "/api/v1/orders", "/api/v1/payments/authorize", "/api/v1/search", "/api/v1/items",
        "/login", "/api/v1/users/me", "/api/v1/checkout/confirm", "/api/v2/inventory/reserve", "/api/v1/shipping/quote",
    ];

    public static readonly string[] Methods = ["GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"];

    public static readonly string[] Dependencies =
    [
        "postgres", "redis", "payments-gateway", "stripe", "adyen", "elasticsearch", "kafka", "s3", "auth-service", "inventory-service",
    ];

    public static readonly string[] Providers = ["stripe", "adyen", "paypal", "klarna"];

    public static readonly string[] DeclineReasons =
        ["insufficient funds", "card expired", "do not honor", "suspected fraud", "3ds authentication failed"];

    public static readonly string[] Exceptions =
    [
        "NullReferenceException", "InvalidOperationException", "TimeoutException", "DbUpdateConcurrencyException",
        "HttpRequestException", "KeyNotFoundException",
    ];

    public static readonly string[] Classes =
        ["OrderService", "CartController", "PaymentProcessor", "SearchIndexer", "InventoryReservation", "TokenValidator", "ShippingQuoter"];

    public static readonly string[] Members = ["Handle", "Process", "Reserve", "Validate", "Commit", "Execute"];

    public static readonly string[] Tables = ["orders", "order_items", "users", "sessions", "inventory", "payments", "products"];

    public static readonly string[] Flags = ["new-checkout", "fast-search", "one-click-pay", "dark-mode"];

    public static readonly string[] Carriers = ["dhl", "ups", "fedex", "postnl", "dpd"];

    public static readonly string[] Tenants = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];

    public static readonly string[] SearchTerms = ["running shoes", "usb-c cable", "coffee grinder", "winter jacket", "lego", "headphones"];

    public static readonly string[] Regions = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "ap-northeast-1"];

    public static readonly byte[][] RegionsUtf8 = Regions.Select(Encoding.UTF8.GetBytes).ToArray();

    /// <summary>key=value tokens that pad a message up to its drawn length, as structured loggers append context.</summary>
    public static readonly string[] Filler =
    [
        "cache=miss", "retry=0", "pool=3/32", "shard=7", "tenant=acme", "version=1.42.0", "bytes=18211", "db_calls=3",
        "gc=gen0", "thread=42", "node=web-3", "az=b", "queue_depth=12", "attempt=1", "tls=1.3", "proto=h2",
        "cache=hit", "db_calls=11", "bytes=512", "tenant=globex", "pool=31/32", "shard=2", "node=web-7", "az=c",
    ];

    /// <summary>Source names: the base names, then the base names with a suffix (checkout-2, ...) when more are asked for.</summary>
    public static string[] SourceNames(int count)
    {
        var names = new string[count];
        for (var i = 0; i < count; i++)
        {
            var name = BaseSources[i % BaseSources.Length];
            names[i] = i < BaseSources.Length ? name : $"{name}-{(i / BaseSources.Length) + 1}";
        }

        return names;
    }
}
