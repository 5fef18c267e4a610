using LogStream.AppHost;

var builder = DistributedApplication.CreateBuilder(args);
var settings = AppHostSettings.From(builder.Configuration, builder.AppHostDirectory);
var observability = ObservabilityResources.Choose(settings);

var redis = builder.AddMembershipRedis(settings);
var nodes = builder.AddStorageNodes(redis, settings, observability.NodesListenOnAllInterfaces);
builder.AddDashboard(nodes, settings);
builder.AddObservability(nodes, settings, observability);

settings.PrintWhereToLook(builder.Configuration, observability);
builder.Build().Run();
