using LogStream.Web;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddLogStreamDashboard();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseStaticFiles();
app.MapRazorPages();
app.MapDashboardApi();

app.Run();
