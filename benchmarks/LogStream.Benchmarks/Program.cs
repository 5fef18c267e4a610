using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/LogStream.Benchmarks -- --filter '*Storage*'
BenchmarkSwitcher.FromAssembly(typeof(LogStream.Benchmarks.Storage.BenchData).Assembly).Run(args);
