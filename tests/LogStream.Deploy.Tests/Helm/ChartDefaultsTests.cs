using System.Text;
using System.Text.Json.Nodes;
using static LogStream.Deploy.Tests.Helm.RenderedChart;

namespace LogStream.Deploy.Tests.Helm;

/// <summary>The chart rendered with its default values: what a plain <c>helm install logstream</c> creates.</summary>
public sealed class ChartDefaultsTests
{
    private static RenderedChart Chart => ChartScenarios.Render(ChartScenarios.Defaults);

    private static IReadOnlyDictionary<string, string> SelectorOf(JsonObject workload) =>
        workload.Obj("spec/selector/matchLabels").ToDictionary(kv => kv.Key, kv => kv.Value!.ToString());

    [SkippableFact]
    public void NodesAreAStatefulSetOfThreeStartedInParallelBehindTheHeadlessService()
    {
        var sts = Chart.NodeStatefulSet;
        Assert.Equal(3, (int)sts.At("spec/replicas")!);
        Assert.Equal("Parallel", sts.Str("spec/podManagementPolicy"));
        Assert.Equal("RollingUpdate", sts.Str("spec/updateStrategy/type"));
        Assert.Equal("logstream-headless", sts.Str("spec/serviceName"));

        var headless = Chart.Single("Service", "logstream-headless");
        Assert.Equal("None", headless.Str("spec/clusterIP"));
        Assert.True((bool)headless.At("spec/publishNotReadyAddresses")!, "peers must reach nodes that are not ready yet");
        Assert.Equal(SelectorOf(sts), headless.Obj("spec/selector").ToDictionary(kv => kv.Key, kv => kv.Value!.ToString()));
        var ports = headless.Arr("spec/ports").Select(p => (p!.Str("name"), (int)p.At("port")!, p.Str("appProtocol"))).ToList();
        Assert.Equal([("http", 5100, "http"), ("internal", 5300, "kubernetes.io/h2c")], ports);
    }

    [SkippableFact]
    public void NodeContainerExposesThePublicApiAndTheInternalReplicationPort()
    {
        var ports = Chart.NodeContainer.Arr("ports").Select(p => (p!.Str("name"), (int)p.At("containerPort")!)).ToList();
        Assert.Equal([("http", 5100), ("internal", 5300)], ports);
        Assert.Equal("logstream-node:1.0.0", Chart.NodeContainer.Str("image"));
    }

    [SkippableFact]
    public void ReadinessProbesHealthAndLivenessProbesAliveOnThePublicPort()
    {
        var node = Chart.NodeContainer;
        Assert.Equal(("/health", "http"), (node.Str("readinessProbe/httpGet/path"), node.Str("readinessProbe/httpGet/port")));
        Assert.Equal(("/alive", "http"), (node.Str("livenessProbe/httpGet/path"), node.Str("livenessProbe/httpGet/port")));
        Assert.Equal("/alive", node.Str("startupProbe/httpGet/path"));
        var startupAllowance = (int)node.At("startupProbe/periodSeconds")! * (int)node.At("startupProbe/failureThreshold")!;
        Assert.True(startupAllowance >= 120, $"write-ahead-log recovery gets {startupAllowance} s before liveness applies");

        var web = Container(Chart.Single("Deployment", "logstream-web"), "web");
        Assert.Equal("/health", web.Str("readinessProbe/httpGet/path"));
        Assert.Equal("/alive", web.Str("livenessProbe/httpGet/path"));
        Assert.Equal(5200, (int)web.At("ports/0/containerPort")!);
        Assert.Equal("http", web.Str("ports/0/name"));
    }

    [SkippableFact]
    public void EveryNodeKeepsItsDataOnItsOwnPersistentVolumeClaim()
    {
        var sts = Chart.NodeStatefulSet;
        var claim = Assert.Single(sts.Arr("spec/volumeClaimTemplates"))!;
        Assert.Equal("data", claim.Str("metadata/name"));
        Assert.Equal(["ReadWriteOnce"], claim.Arr("spec/accessModes").Select(m => m!.ToString()));
        Assert.Equal("10Gi", claim.Str("spec/resources/requests/storage"));
        Assert.Null(claim.At("spec/storageClassName"));
        Assert.Equal("Retain", sts.Str("spec/persistentVolumeClaimRetentionPolicy/whenDeleted"));

        Assert.Contains(Chart.NodeContainer.Arr("volumeMounts"), m => m!.Str("name") == "data" && m.Str("mountPath") == "/data");
        Assert.Equal("/data", EnvValue(Chart.NodeContainer, "LogStream__DataDirectory"));
        Assert.DoesNotContain(sts.Arr("spec/template/spec/volumes"), v => v!.Str("name") == "data");
    }

    [SkippableFact]
    public void EveryPodRunsAsNonRootWithAReadOnlyRootFilesystemAndNoCapabilities()
    {
        Assert.Equal(3, Chart.PodSpecs.Count());
        foreach (var (owner, pod) in Chart.PodSpecs)
        {
            Assert.True((bool?)pod.At("securityContext/runAsNonRoot") == true, $"{owner}: runAsNonRoot");
            Assert.True((long?)pod.At("securityContext/runAsUser") > 0, $"{owner}: numeric non-root user");
            Assert.Equal("RuntimeDefault", pod.Str("securityContext/seccompProfile/type"));
            foreach (var container in pod.Arr("containers").Select(c => c!.AsObject()))
            {
                var name = $"{owner}/{container.Str("name")}";
                Assert.True((bool?)container.At("securityContext/readOnlyRootFilesystem") == true, $"{name}: read-only root");
                Assert.True((bool?)container.At("securityContext/allowPrivilegeEscalation") == false, $"{name}: no privilege escalation");
                Assert.Equal(["ALL"], container.Arr("securityContext/capabilities/drop").Select(c => c!.ToString()));
            }
        }

        // The .NET images run as app (1654); /tmp must stay writable for the runtime under a read-only root.
        foreach (var workload in new[] { Chart.NodeStatefulSet, Chart.Single("Deployment", "logstream-web") })
        {
            var pod = workload.Obj("spec/template/spec");
            Assert.Equal(1654, (int)pod.At("securityContext/runAsUser")!);
            var tmp = pod.Arr("volumes").Single(v => v!.Str("name") == "tmp")!;
            Assert.NotNull(tmp.At("emptyDir"));
            Assert.Contains(pod.Arr("containers/0/volumeMounts"), m => m!.Str("name") == "tmp" && m.Str("mountPath") == "/tmp");
        }
    }

    [SkippableFact]
    public void EveryContainerHasResourceRequestsAndLimits()
    {
        foreach (var (owner, pod) in Chart.PodSpecs)
        foreach (var container in pod.Arr("containers").Select(c => c!.AsObject()))
        {
            foreach (var path in new[] { "resources/requests/cpu", "resources/requests/memory", "resources/limits/cpu", "resources/limits/memory" })
                Assert.False(string.IsNullOrEmpty(container.Str(path)), $"{owner}/{container.Str("name")} has no {path}");
        }
    }

    [SkippableFact]
    public void StoppingNodeHasTimeToLeaveMembershipAndFlushItsLog()
    {
        var pod = Chart.NodeStatefulSet.Obj("spec/template/spec");
        var grace = (int)pod.At("terminationGracePeriodSeconds")!;
        var preStop = (int)Chart.NodeContainer.At("lifecycle/preStop/sleep/seconds")!;
        var hostShutdown = int.Parse(EnvValue(Chart.NodeContainer, "DOTNET_SHUTDOWNTIMEOUTSECONDS")!);
        Assert.Equal((60, 5, 50), (grace, preStop, hostShutdown));
        Assert.True(preStop + hostShutdown < grace, "the host must finish before the kubelet sends SIGKILL");
    }

    [SkippableFact]
    public void NodesSpreadAcrossZonesAndHosts()
    {
        var pod = Chart.NodeStatefulSet.Obj("spec/template/spec");
        var podLabels = Chart.NodeStatefulSet.Obj("spec/template/metadata/labels");
        var constraints = pod.Arr("topologySpreadConstraints").Select(c => c!.AsObject()).ToList();
        Assert.Equal(["topology.kubernetes.io/zone", "kubernetes.io/hostname"], constraints.Select(c => c.Str("topologyKey")));
        foreach (var constraint in constraints)
        {
            Assert.Equal(1, (int)constraint.At("maxSkew")!);
            Assert.All(constraint.Obj("labelSelector/matchLabels"), kv => Assert.Equal(kv.Value!.ToString(), podLabels[kv.Key]!.ToString()));
        }

        var antiAffinity = Assert.Single(pod.Arr("affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution"))!;
        Assert.Equal("kubernetes.io/hostname", antiAffinity.Str("podAffinityTerm/topologyKey"));
    }

    [SkippableFact]
    public void DisruptionBudgetLetsOneNodeGoAtReplicationFactorThree()
    {
        var pdb = Chart.Single("PodDisruptionBudget", "logstream");
        Assert.Equal(1, (int)pdb.At("spec/maxUnavailable")!);
        Assert.Null(pdb.At("spec/minAvailable"));
        Assert.Equal(SelectorOf(Chart.NodeStatefulSet), SelectorOf(pdb));
    }

    [SkippableFact]
    public void SecretsAreReferencedFromPodsAndNeverInlined()
    {
        var secrets = Chart.OfKind("Secret").ToList();
        Assert.Equal(["logstream-redis", "logstream-security"], secrets.Select(s => s.Str("metadata/name")).Order());
        var values = secrets.SelectMany(s => s.Obj("data").Select(kv => Encoding.UTF8.GetString(Convert.FromBase64String(kv.Value!.ToString())))).ToList();
        Assert.All(values, v => Assert.True(v.Length >= 32, "generated secrets are long random strings"));

        foreach (var other in Chart.Objects.Where(o => o.Str("kind") != "Secret"))
        {
            var text = other.ToJsonString();
            Assert.All(values, v => Assert.DoesNotContain(v, text));
        }

        var node = Chart.NodeContainer;
        AssertSecretRef(node, "LogStream__Security__ClusterSecret", "logstream-security", "cluster-secret");
        AssertSecretRef(node, "REDIS_PASSWORD", "logstream-redis", "redis-password");
        AssertSecretRef(Container(Chart.Single("StatefulSet", "logstream-redis"), "redis"), "REDIS_PASSWORD", "logstream-redis", "redis-password");
        Assert.False(HasEnv(node, "LogStream__Security__ApiKeys__0"), "no API keys unless configured");
    }

    [SkippableFact]
    public void RedisConnectionStringExpandsThePasswordFromTheSecretReference()
    {
        var node = Chart.NodeContainer;
        Assert.Equal("logstream-redis:6379,password=$(REDIS_PASSWORD)", EnvValue(node, "ConnectionStrings__redis"));
        AssertDefinedBefore(node, "REDIS_PASSWORD", "ConnectionStrings__redis");
    }

    [SkippableFact]
    public void NodeEnvironmentCarriesIdentityAddressRingAndMembershipSettings()
    {
        var node = Chart.NodeContainer;
        Assert.Equal("metadata.name", EnvVar(node, "POD_NAME").Str("valueFrom/fieldRef/fieldPath"));
        Assert.Equal("metadata.namespace", EnvVar(node, "POD_NAMESPACE").Str("valueFrom/fieldRef/fieldPath"));
        Assert.Equal("$(POD_NAME)", EnvValue(node, "LogStream__NodeId"));
        Assert.Equal("http://$(POD_NAME).logstream-headless.$(POD_NAMESPACE).svc.cluster.local:5100", EnvValue(node, "LogStream__AdvertiseAddress"));
        AssertDefinedBefore(node, "POD_NAME", "LogStream__NodeId");
        AssertDefinedBefore(node, "POD_NAMESPACE", "LogStream__AdvertiseAddress");
        Assert.Equal("logstream", EnvValue(node, "LogStream__ClusterName"));
        Assert.Equal("http://0.0.0.0:5100", EnvValue(node, "Kestrel__Endpoints__Public__Url"));
        Assert.Equal("http://0.0.0.0:5300", EnvValue(node, "Kestrel__Endpoints__Internal__Url"));
        Assert.Equal("Http2", EnvValue(node, "Kestrel__Endpoints__Internal__Protocols"));
        Assert.Equal("3", EnvValue(node, "LogStream__Ring__ReplicationFactor"));
        Assert.Equal("256", EnvValue(node, "LogStream__Ring__VirtualNodes"));
        Assert.Equal("00:00:01", EnvValue(node, "LogStream__Membership__HeartbeatInterval"));
        Assert.Equal("00:00:02.5", EnvValue(node, "LogStream__Membership__SuspectAfter"));
        Assert.Equal("00:00:05", EnvValue(node, "LogStream__Membership__DownAfter"));
        Assert.Equal("true", EnvValue(node, "LogStream__Kubernetes__ZoneLookup"));
        Assert.False(HasEnv(node, "LogStream__Zone"), "in Kubernetes the zone comes from the node label");
        Assert.False(HasEnv(node, "OTEL_EXPORTER_OTLP_ENDPOINT"));
        Assert.False((bool)Chart.NodeStatefulSet.At("spec/template/spec/enableServiceLinks")!);
    }

    [SkippableFact]
    public void ChaosIsOffByDefault()
    {
        Assert.Equal("false", EnvValue(Chart.NodeContainer, "LogStream__Chaos__Enabled"));
        Assert.Equal("false", EnvValue(Container(Chart.Single("Deployment", "logstream-web"), "web"), "LogStream__Chaos__Enabled"));
        Assert.False(HasEnv(Container(Chart.Single("Deployment", "logstream-web"), "web"), "LogStream__ApiKey"), "no API keys, no key for the dashboard");
    }

    [SkippableFact]
    public void ClientServiceRoutesThePublicApiToReadyNodesOnly()
    {
        var client = Chart.Single("Service", "logstream");
        Assert.Null(client.At("spec/clusterIP"));
        Assert.Null(client.At("spec/publishNotReadyAddresses"));
        Assert.Equal("ClusterIP", client.Str("spec/type"));
        var port = Assert.Single(client.Arr("spec/ports"))!;
        Assert.Equal((5100, "http"), ((int)port.At("port")!, port.Str("targetPort")));
        Assert.Equal(SelectorOf(Chart.NodeStatefulSet), client.Obj("spec/selector").ToDictionary(kv => kv.Key, kv => kv.Value!.ToString()));
    }

    [SkippableFact]
    public void WebDashboardIsSeededWithTheClientServiceAndServedOnPort5200()
    {
        var web = Chart.Single("Deployment", "logstream-web");
        var container = Container(web, "web");
        Assert.Equal("logstream-web:1.0.0", container.Str("image"));
        Assert.Equal("http://logstream:5100", EnvValue(container, "LogStream__Seeds__0"));
        Assert.Equal("5200", EnvValue(container, "ASPNETCORE_HTTP_PORTS"));
        var service = Chart.Single("Service", "logstream-web");
        Assert.Equal((5200, "http"), ((int)service.At("spec/ports/0/port")!, service.Str("spec/ports/0/targetPort")));
        Assert.Equal(SelectorOf(web), service.Obj("spec/selector").ToDictionary(kv => kv.Key, kv => kv.Value!.ToString()));
        // The dashboard's /metrics is a JSON snapshot, not Prometheus text: never scraped.
        Assert.False(web.At("spec/template/metadata/annotations") is JsonObject a && a.ContainsKey("prometheus.io/scrape"));
    }

    [SkippableFact]
    public void BuiltInRedisIsOnePasswordProtectedInstance()
    {
        var redis = Chart.Single("StatefulSet", "logstream-redis");
        Assert.Equal(1, (int)redis.At("spec/replicas")!);
        var args = Container(redis, "redis").Arr("args").Select(a => a!.ToString()).ToList();
        Assert.Equal("$(REDIS_PASSWORD)", args[args.IndexOf("--requirepass") + 1]);
        var service = Chart.Single("Service", "logstream-redis");
        Assert.Equal(6379, (int)service.At("spec/ports/0/port")!);
    }

    [SkippableFact]
    public void PrometheusScrapesEachNodesMetricsOnThePublicPort()
    {
        var annotations = Chart.NodeStatefulSet.Obj("spec/template/metadata/annotations");
        Assert.Equal("true", annotations["prometheus.io/scrape"]!.ToString());
        Assert.Equal("5100", annotations["prometheus.io/port"]!.ToString());
        Assert.Equal("/metrics", annotations["prometheus.io/path"]!.ToString());
        Assert.Empty(Chart.OfKind("ServiceMonitor"));
    }

    [SkippableFact]
    public void GrafanaSidecarFindsTheDashboardConfigMapWithTheCommittedJson()
    {
        var map = Chart.Single("ConfigMap", "logstream-grafana-dashboard");
        Assert.Equal("1", map.Str("metadata/labels/grafana_dashboard"));
        var json = map.Str("data/logstream.json")!;
        Assert.Equal(File.ReadAllText(RepositoryPaths.DashboardFile).TrimEnd(), json.TrimEnd());
        Assert.Equal("logstream-overview", JsonNode.Parse(json)!.Str("uid"));
    }

    [SkippableFact]
    public void RbacGrantsOnlyGetOnTheNodesOwnPodsAndOnKubernetesNodes()
    {
        var role = Assert.Single(Chart.OfKind("Role"));
        var roleRule = Assert.Single(role.Arr("rules"))!;
        Assert.Equal([""], roleRule.Arr("apiGroups").Select(x => x!.ToString()));
        Assert.Equal(["pods"], roleRule.Arr("resources").Select(x => x!.ToString()));
        Assert.Equal(["get"], roleRule.Arr("verbs").Select(x => x!.ToString()));
        Assert.Equal(["logstream-0", "logstream-1", "logstream-2"], roleRule.Arr("resourceNames").Select(x => x!.ToString()));

        var clusterRole = Assert.Single(Chart.OfKind("ClusterRole"));
        var nodeRule = Assert.Single(clusterRole.Arr("rules"))!;
        Assert.Equal([""], nodeRule.Arr("apiGroups").Select(x => x!.ToString()));
        Assert.Equal(["nodes"], nodeRule.Arr("resources").Select(x => x!.ToString()));
        Assert.Equal(["get"], nodeRule.Arr("verbs").Select(x => x!.ToString()));
        Assert.Equal("logstream-logstream-zone-reader", clusterRole.Str("metadata/name"));

        var account = Assert.Single(Chart.OfKind("ServiceAccount"));
        Assert.Equal("logstream", account.Str("metadata/name"));
        Assert.False((bool)account.At("automountServiceAccountToken")!);
        foreach (var binding in Chart.OfKind("RoleBinding").Concat(Chart.OfKind("ClusterRoleBinding")))
        {
            var subject = Assert.Single(binding.Arr("subjects"))!;
            Assert.Equal(("ServiceAccount", "logstream", "logstream"), (subject.Str("kind"), subject.Str("name"), subject.Str("namespace")));
        }

        Assert.Equal(role.Str("metadata/name"), Assert.Single(Chart.OfKind("RoleBinding")).Str("roleRef/name"));
        Assert.Equal(clusterRole.Str("metadata/name"), Assert.Single(Chart.OfKind("ClusterRoleBinding")).Str("roleRef/name"));

        // Only the node pods get an API token, and they use this account.
        var nodePod = Chart.NodeStatefulSet.Obj("spec/template/spec");
        Assert.Equal("logstream", nodePod.Str("serviceAccountName"));
        Assert.True((bool)nodePod.At("automountServiceAccountToken")!);
        foreach (var (owner, pod) in Chart.PodSpecs.Where(p => p.Owner != "StatefulSet/logstream"))
            Assert.True((bool?)pod.At("automountServiceAccountToken") == false, $"{owner} must not mount an API token");
    }

    [SkippableFact]
    public void EveryObjectCarriesTheStandardLabels()
    {
        foreach (var o in Chart.Objects)
        {
            var labels = o.Obj("metadata/labels");
            foreach (var key in new[] { "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/component", "helm.sh/chart" })
                Assert.True(labels.ContainsKey(key), $"{o.Str("kind")}/{o.Str("metadata/name")} lacks label {key}");
            Assert.Equal("logstream", labels["app.kubernetes.io/instance"]!.ToString());
        }
    }

    internal static void AssertSecretRef(JsonObject container, string env, string secret, string key)
    {
        var variable = EnvVar(container, env);
        Assert.Null(variable["value"]);
        Assert.Equal((secret, key), (variable.Str("valueFrom/secretKeyRef/name"), variable.Str("valueFrom/secretKeyRef/key")));
    }

    /// <summary>The kubelet expands $(VAR) only from variables listed earlier.</summary>
    internal static void AssertDefinedBefore(JsonObject container, string first, string second)
    {
        var names = container.Arr("env").Select(e => e!.Str("name")).ToList();
        Assert.True(names.IndexOf(first) >= 0 && names.IndexOf(first) < names.IndexOf(second), $"{first} must come before {second} in env");
    }
}
