using System.Diagnostics.Metrics;
using LogStream.Storage;
using LogStream.Storage.Tests;

// Writes TestData/format-vN/segments for the storage tests: the records of FrozenRecords appended one by one to a new
// store, then one maintenance pass (the 14:00 bucket is sealed, 15:00 stays a log segment). Run it only when a format
// version changes, into a new folder, and commit the files: the tests then read them with every later version.
//   dotnet run --project tests/LogStream.Storage.FrozenFiles -- tests/LogStream.Storage.Tests/TestData/format-v2/segments
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: LogStream.Storage.FrozenFiles <target segments folder>");
    return 2;
}
var target = Path.GetFullPath(args[0]);
if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
{
    Console.Error.WriteLine($"{target} is not empty: frozen files are never rewritten; use a new folder for a new version.");
    return 1;
}
await FrozenRecords.WriteAsync(target, new NullMeterFactory());
Console.WriteLine($"wrote {Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Count()} files under {target}");
return 0;

internal sealed class NullMeterFactory : IMeterFactory
{
    public Meter Create(MeterOptions options) => new(options);

    public void Dispose()
    {
    }
}
