using LogStream.LoadGen;

// Cluster load generator (issue 7): ingest realistic records through the public API, query ERRORs, verify.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C stops the run and still prints what was measured; a second one kills the process.
    if (!cancel.IsCancellationRequested)
    {
        e.Cancel = true;
        cancel.Cancel();
    }
};
return await LoadGenCommand.RunAsync(args, Console.Out, Console.Error, cancel.Token);
