using LogStream.AppHost;

var builder = DistributedApplication.CreateBuilder(args);
var settings = AppHostSettings.From(builder.Configuration, builder.AppHostDirectory);

var redis = builder.AddMembershipRedis(settings);
var nodes = builder.AddStorageNodes(redis, settings);
builder.AddDashboard(nodes, settings);

settings.PrintWhereToLook(builder.Configuration);
builder.Build().Run();
