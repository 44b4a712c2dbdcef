using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Api;

namespace Passthrough.Cli.Tests;

/// <summary>
/// A coordinator stand-in: real Kestrel on 127.0.0.1 (a free port), the API's routes, canned answers set by the test.
/// A saga's GET answers walk through the views the test queued (the last one repeats), which is how a live saga looks to
/// a poller.
/// </summary>
internal sealed class FakeCoordinator : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<Guid, Queue<SagaView>> _sagas = new();

    private FakeCoordinator(WebApplication app) => _app = app;

    public string Url { get; private set; } = string.Empty;

    /// <summary>Every request: method, path and query, body.</summary>
    public ConcurrentQueue<(string Method, string Path, string Body)> Requests { get; } = new();

    /// <summary>The answer to a POST of a passthrough or release: status and body.</summary>
    public (HttpStatusCode Status, object Body) SubmitAnswer { get; set; } = (HttpStatusCode.Accepted, new ApiError("no answer configured"));

    /// <summary>The answer to the list.</summary>
    public SagaPage Page { get; set; } = new([], 0, 20);

    public static async Task<FakeCoordinator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeCoordinator(app);
        app.Use(async (context, next) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            fake.Requests.Enqueue((context.Request.Method, context.Request.Path + context.Request.QueryString, body));
            await next(context);
        });
        app.MapPost(ApiRoutes.Passthroughs, () => Results.Json(fake.SubmitAnswer.Body, Json, statusCode: (int)fake.SubmitAnswer.Status));
        app.MapPost(ApiRoutes.Releases, () => Results.Json(fake.SubmitAnswer.Body, Json, statusCode: (int)fake.SubmitAnswer.Status));
        app.MapGet(ApiRoutes.Sagas, () => Results.Json(fake.Page, Json));
        app.MapGet(ApiRoutes.Sagas + "/{id}", (string id) =>
        {
            if (!Guid.TryParse(id, out var sagaId) || !fake._sagas.TryGetValue(sagaId, out var views))
            {
                return Results.Json(new ApiError($"no saga {id}", "id"), Json, statusCode: StatusCodes.Status404NotFound);
            }

            lock (views)
            {
                return Results.Json(views.Count > 1 ? views.Dequeue() : views.Peek(), Json);
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        fake.Url = app.Urls.Single();
        return fake;
    }

    /// <summary>Queues the views successive GETs of the saga return.</summary>
    public void Serve(params SagaView[] views) => _sagas[views[0].Id] = new Queue<SagaView>(views);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
