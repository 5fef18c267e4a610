using LogStream.Node;
using LogStream.Node.Api;
using LogStream.Node.Repair;
using LogStream.Node.Replication;

// Configuration and content come from the install directory, wherever the node is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

builder.AddServiceDefaults();
builder.AddLogStreamNode();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapPrometheusMetrics();
app.MapLogStreamApi();
app.MapReplicaApi();
app.MapRepairApi();

return app.RunNode();
