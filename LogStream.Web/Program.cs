using LogStream.Web;
using LogStream.Web.Api;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddLogStreamDashboard();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseStaticFiles();
app.MapRazorPages();
app.MapDashboardApi();

app.Run();
