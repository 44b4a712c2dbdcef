using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Api;
using Passthrough.Coordinator.Api;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator.Sagas;
using Passthrough.Hosting;

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>How to start one coordinator for a test.</summary>
internal sealed record HarnessSettings(string Directory)
{
    /// <summary>Null: the in-memory bus. Otherwise a RabbitMQ URI (a test virtual host).</summary>
    public Uri? RabbitMq { get; init; }

    /// <summary>Fake agents on the same bus; null for none (they run in another host).</summary>
    public AgentScript? Agents { get; init; }

    /// <summary>Compresses every deadline; 0.01 turns a 2-minute step into 1.2 s.</summary>
    public double TimeScale { get; init; } = 0.01;

    public Action<CoordinatorOptions>? Configure { get; init; }
}

/// <summary>
/// The coordinator as Program.cs wires it (AddCoordinator, AddCoordinatorSagas, UseCoordinatorPipeline,
/// MapCoordinatorApi) on a real Kestrel at 127.0.0.1 port 0, with its SQLite store in the test's directory, and
/// optionally the fake agents on the same bus.
/// </summary>
internal sealed class CoordinatorHarness : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CoordinatorHarness(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static JsonSerializerOptions Json => CoordinatorApi.Json;

    public static async Task<CoordinatorHarness> StartAsync(HarnessSettings settings)
    {
        // The content root is the test's directory: no appsettings.json of the product is read.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = settings.Directory, EnvironmentName = "Development" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(TestLogging.Factory);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddCoordinator(options =>
        {
            options.TimeScale = settings.TimeScale;
            options.WatchdogInterval = TimeSpan.FromSeconds(30);
            settings.Configure?.Invoke(options);
        });
        builder.Services.AddPassthroughSagaStore(options => options.SqlitePath = Path.Combine(settings.Directory, "coordinator.db"));
        builder.Services.Configure<DurableSchedulerOptions>(options => options.PollInterval = TimeSpan.FromMilliseconds(50));
        builder.Services.AddPassthroughBus(new BusOptions { RabbitMq = settings.RabbitMq, StartTimeout = TimeSpan.FromSeconds(30) }, x =>
        {
            x.AddCoordinatorSagas();
            if (settings.Agents is { } agents)
            {
                x.AddSingleton(agents);
                AgentScript.AddTo(x);
            }
        }, (context, cfg) => cfg.UseCoordinatorPipeline(context));

        var app = builder.Build();
        app.MapCoordinatorApi();
        try
        {
            await app.StartAsync(TestContext.Current.CancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        return new CoordinatorHarness(app, client);
    }

    public Task<HttpResponseMessage> PostAsync(string route, object body) =>
        Client.PostAsJsonAsync(route, body, Json, TestContext.Current.CancellationToken);

    /// <summary>Submits a passthrough and returns its id (asserting 202).</summary>
    public async Task<Guid> SubmitPassthroughAsync(PassthroughRequestBody body)
    {
        using var response = await PostAsync(ApiRoutes.Passthroughs, body);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<SagaAccepted>(Json, TestContext.Current.CancellationToken);
        return accepted!.Id;
    }

    public async Task<SagaView?> GetSagaAsync(Guid id)
    {
        using var response = await Client.GetAsync($"{ApiRoutes.Sagas}/{id}", TestContext.Current.CancellationToken);
        return response.IsSuccessStatusCode
            ? await response.Content.ReadFromJsonAsync<SagaView>(Json, TestContext.Current.CancellationToken)
            : null;
    }

    /// <summary>Waits until the saga has an outcome (through the API) and returns it.</summary>
    public async Task<SagaView> WaitForOutcomeAsync(Guid id, TimeSpan? timeout = null)
    {
        SagaView? view = null;
        await Eventually.HoldsAsync(async () => (view = await GetSagaAsync(id))?.Outcome is not null, $"saga {id} has an outcome",
            timeout ?? TimeSpan.FromSeconds(30));
        return view!;
    }

    public Task<SagaRecord<PassthroughSagaState>?> GetStoredAsync(Guid id) =>
        Services.GetRequiredService<ISagaStateReader<PassthroughSagaState>>().GetAsync(id, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}

/// <summary>A test's own directory (SQLite file), removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("passthrough-coordinator-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}
