using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using LogStream.Testing;

// GetEnvironmentVariableValuesAsync / GetArgumentValuesAsync are marked obsolete in favour of the more elaborate
// ExecutionConfigurationBuilder; for reading a model in a test they remain the plain way.
#pragma warning disable CS0618

namespace LogStream.Browser.Tests;

/// <summary>
/// The app host's Prometheus and Grafana resources as modelled (built, not started): the container wiring cannot run on
/// a machine without a container engine, so its model is what is checked here.
/// </summary>
public sealed class ObservabilityModelTests
{
    private const int BasePort = 7100;

    private static async Task<(IDistributedApplicationTestingBuilder Builder, LogStream.Testing.TempDirectory Data)> ModelAsync(string mode)
    {
        var data = new LogStream.Testing.TempDirectory("logstream-model");
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LogStream_AppHost>(
            [$"LogStream:BasePort={BasePort}", $"LogStream:DataRoot={data.Path}", $"LogStream:Observability={mode}"]);
        return (builder, data);
    }

    private static async Task<Dictionary<string, string>> EnvironmentAsync(IResource resource) =>
        await ((IResourceWithEnvironment)resource).GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);

    [Fact]
    public async Task ContainersModeRunsPrometheusAndGrafanaProvisionedFromTheDeployFolder()
    {
        var (builder, data) = await ModelAsync("containers");
        await using var _ = builder;
        using var __ = data;

        var prometheus = builder.Resources.OfType<ContainerResource>().Single(r => r.Name == "prometheus");
        var image = prometheus.Annotations.OfType<ContainerImageAnnotation>().Single();
        Assert.Equal(("prom/prometheus", "v2.53.2"), (image.Image, image.Tag));
        var config = Assert.Single(prometheus.Annotations.OfType<ContainerMountAnnotation>());
        Assert.Equal((Path.Combine(data.Path, "prometheus"), "/etc/logstream", true), (config.Source, config.Target, config.IsReadOnly));
        var args = await prometheus.GetArgumentValuesAsync(DistributedApplicationOperation.Publish);
        Assert.Contains("--config.file=/etc/logstream/prometheus.yml", args);
        var endpoint = prometheus.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == "http");
        Assert.Equal((BasePort + 290, 9090), (endpoint.Port, endpoint.TargetPort));

        // Fixed ports: the configuration exists before the container does (a bind mount needs it), aimed at the host.
        var yaml = await File.ReadAllTextAsync(Path.Combine(data.Path, "prometheus", "prometheus.yml"));
        for (var i = 0; i < 3; i++)
            Assert.Contains($"\"host.docker.internal:{BasePort + i}\"", yaml, StringComparison.Ordinal);

        var grafana = builder.Resources.OfType<ContainerResource>().Single(r => r.Name == "grafana");
        Assert.Equal("grafana/grafana", grafana.Annotations.OfType<ContainerImageAnnotation>().Single().Image);
        var mounts = grafana.Annotations.OfType<ContainerMountAnnotation>().ToDictionary(m => m.Target, m => m.Source);
        Assert.Equal(Path.Combine(Repository.Root, "deploy", "grafana", "provisioning"), mounts["/etc/grafana/provisioning"]);
        Assert.Equal(Path.Combine(Repository.Root, "deploy", "grafana", "dashboards"), mounts["/var/lib/grafana/dashboards"]);
        Assert.True((await EnvironmentAsync(grafana)).ContainsKey("PROMETHEUS_URL"));
        var grafanaEndpoint = grafana.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == "http");
        Assert.Equal((BasePort + 300, 3000), (grafanaEndpoint.Port, grafanaEndpoint.TargetPort));

        // Containers reach the nodes through the host gateway: the nodes listen on every interface, advertise localhost.
        foreach (var node in AppHostFixture.Nodes)
        {
            var env = await EnvironmentAsync(builder.Resources.Single(r => r.Name == node));
            Assert.StartsWith("http://0.0.0.0:", env["Kestrel__Endpoints__Public__Url"], StringComparison.Ordinal);
            Assert.StartsWith("http://localhost:", env["LogStream__AdvertiseAddress"], StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task LocalModeRunsThePrometheusExecutableOnBasePortPlus290AndNodesStayOnLoopback()
    {
        var executable = RequiredTool.Require("prometheus", "apt-get install prometheus");
        var (builder, data) = await ModelAsync("local");
        await using var _ = builder;
        using var __ = data;

        var prometheus = builder.Resources.OfType<ExecutableResource>().Single(r => r.Name == "prometheus");
        Assert.Equal(executable, prometheus.Command);
        var args = await prometheus.GetArgumentValuesAsync(DistributedApplicationOperation.Publish);
        Assert.Contains($"--web.listen-address=127.0.0.1:{BasePort + 290}", args);
        Assert.Contains($"--config.file={Path.Combine(data.Path, "prometheus", "prometheus.yml")}", args);
        Assert.DoesNotContain(builder.Resources, r => r.Name == "grafana");
        var env = await EnvironmentAsync(builder.Resources.Single(r => r.Name == "node-0"));
        Assert.StartsWith("http://localhost:", env["Kestrel__Endpoints__Public__Url"], StringComparison.Ordinal);
        Assert.False(env.ContainsKey("LogStream__AdvertiseAddress"));
        Assert.Equal("true", (await EnvironmentAsync(builder.Resources.Single(r => r.Name == "web")))["LogStream__Chaos__Enabled"]);
    }

    [Fact]
    public async Task OffModeRunsNeither()
    {
        var (builder, data) = await ModelAsync("off");
        await using var _ = builder;
        using var __ = data;
        Assert.DoesNotContain(builder.Resources, r => r.Name is "prometheus" or "grafana");
    }
}
