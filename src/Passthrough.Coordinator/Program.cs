using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Passthrough.Coordinator;
using Passthrough.Coordinator.Api;
using Passthrough.Hosting;

// The coordinator service: the passthrough and release sagas, their durable store and scheduler, and the HTTP API.
// Only wiring here; everything is in AddCoordinator / AddCoordinatorSagas / UseCoordinatorPipeline / MapCoordinatorApi.
var builder = WebApplication.CreateBuilder(args);
builder.UsePassthroughServiceDefaults("passthrough-coordinator");

var busOptions = builder.Configuration.GetSection(BusOptions.SectionName).Get<BusOptions>() ?? new BusOptions();
builder.Services.AddCoordinator();
builder.Services.AddPassthroughBus(busOptions, x => x.AddCoordinatorSagas(), (context, cfg) => cfg.UseCoordinatorPipeline(context));
builder.WebHost.UseUrls(builder.Configuration[$"{CoordinatorOptions.SectionName}:{nameof(CoordinatorOptions.ListenUrl)}"]
                        ?? new CoordinatorOptions().ListenUrl);

var app = builder.Build();
app.MapCoordinatorApi();
await app.RunAsync();
