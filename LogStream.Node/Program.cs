using LogStream.Node;
using LogStream.Node.Api;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddLogStreamNode();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapPrometheusMetrics();
app.MapLogStreamApi();

return app.RunNode();
