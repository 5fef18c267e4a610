using LogStream.Web;
using LogStream.Web.Api;
using LogStream.Web.Security;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddLogStreamDashboard();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseDashboardSecurity();
app.UseStaticFiles();
app.MapDashboardPages();
app.MapDashboardApi();

app.Run();
