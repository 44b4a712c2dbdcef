using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Coordinator.Claims;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator.Sagas;

namespace Passthrough.Coordinator.Api;

/// <summary>
/// The coordinator's HTTP API (routes and bodies in <see cref="ApiRoutes"/> and Contracts.Api): submit a passthrough or
/// a release (validated, then the device and VM claims, then the saga request), read sagas, health. JSON in camelCase;
/// enums as names. Every 4xx answer is an <see cref="ApiError"/> naming the field or the holder.
/// </summary>
public static class CoordinatorApi
{
    private const int DefaultTake = 50;
    private const int MaxTake = 1000;
    private const int ScanPage = 200;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Maps the API on <paramref name="endpoints"/>; needs <see cref="CoordinatorRegistration.AddCoordinator"/> and the sagas.</summary>
    public static IEndpointRouteBuilder MapCoordinatorApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost(ApiRoutes.Passthroughs, Handler(SubmitPassthroughAsync));
        endpoints.MapPost(ApiRoutes.Releases, Handler(SubmitReleaseAsync));
        endpoints.MapGet(ApiRoutes.Sagas + "/{id}", (Func<HttpContext, string, Task<IResult>>)GetSagaAsync);
        endpoints.MapGet(ApiRoutes.Sagas, Handler(ListSagasAsync));
        endpoints.MapGet(ApiRoutes.Health, Handler(HealthAsync));
        return endpoints;
    }

    /// <summary>The API's view of a stored saga.</summary>
    public static SagaView ToView(SagaRecord<PassthroughSagaState> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var saga = record.Instance;
        return new SagaView(
            saga.CorrelationId,
            saga.Kind,
            record.CurrentState ?? "Initial",
            saga.Host.ToString(),
            saga.Vm.ToString(),
            [.. saga.Devices.Select(d => d.ToString())],
            saga.Phase == SagaPhase.Finished ? null : saga.Pending?.Step,
            saga.Outcome,
            saga.Cause,
            [.. saga.LeftForOperator],
            [.. saga.History.Select(h => new SagaStepView(h.Step, h.Attempt, h.StartedAt, h.FinishedAt, h.Succeeded, h.Failure, h.Detail))],
            record.CreatedAt,
            record.UpdatedAt,
            saga.FinishedAt);
    }

    private static async Task<IResult> SubmitPassthroughAsync(HttpContext http)
    {
        var (body, parseError) = await ReadAsync<PassthroughRequestBody>(http).ConfigureAwait(false);
        if (parseError is not null)
        {
            return BadRequest(parseError);
        }

        if (!RequestValidation.TryPassthrough(body, out var target, out var options, out var error))
        {
            return BadRequest(error);
        }

        var sagaId = Guid.CreateVersion7();
        var time = http.RequestServices.GetRequiredService<TimeProvider>();
        var request = new RequestPassthrough(sagaId, target.Host, target.Vm, target.Devices, options, target.RequestedBy, time.GetUtcNow());
        return await ClaimAndSendAsync(http, sagaId, SagaKind.Passthrough, target, request).ConfigureAwait(false);
    }

    private static async Task<IResult> SubmitReleaseAsync(HttpContext http)
    {
        var (body, parseError) = await ReadAsync<ReleaseRequestBody>(http).ConfigureAwait(false);
        if (parseError is not null)
        {
            return BadRequest(parseError);
        }

        if (!RequestValidation.TryRelease(body, out var target, out var options, out var error))
        {
            return BadRequest(error);
        }

        var reader = http.RequestServices.GetRequiredService<ISagaStateReader<PassthroughSagaState>>();
        var drivers = await KnownOriginalDriversAsync(reader, target, http.RequestAborted).ConfigureAwait(false);
        var sagaId = Guid.CreateVersion7();
        var time = http.RequestServices.GetRequiredService<TimeProvider>();
        var request = new RequestRelease(sagaId, target.Host, target.Vm, target.Devices, options, drivers, target.RequestedBy, time.GetUtcNow());
        return await ClaimAndSendAsync(http, sagaId, SagaKind.Release, target, request).ConfigureAwait(false);
    }

    // Claims first, so two requests for one device or VM never both start; a request that cannot be sent gives its
    // claims back at once (the watchdog would only after OrphanClaimGrace).
    private static async Task<IResult> ClaimAndSendAsync<T>(HttpContext http, Guid sagaId, SagaKind kind, ValidTarget target, T request)
        where T : class
    {
        var services = http.RequestServices;
        var claims = services.GetRequiredService<ResourceClaimStore>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CoordinatorApi).FullName!);
        var keys = ResourceClaimStore.KeysFor(target.Host, target.Vm, target.Devices);
        var claim = await claims.TryClaimAsync(sagaId, kind, keys, http.RequestAborted).ConfigureAwait(false);
        if (!claim.Succeeded && await HasFinishedAsync(services, claim.HeldBy!.Value, http.RequestAborted).ConfigureAwait(false))
        {
            // The holder has ended but its SagaFinished has not reached the claim consumer yet: an operator who saw the
            // outcome and submits again must not be refused for a saga that is over.
            await claims.ReleaseAsync(claim.HeldBy.Value, http.RequestAborted).ConfigureAwait(false);
            claim = await claims.TryClaimAsync(sagaId, kind, keys, http.RequestAborted).ConfigureAwait(false);
        }

        if (!claim.Succeeded)
        {
            return Results.Json(new ApiError($"{claim.Resource} is held by saga {claim.HeldBy}, which has not finished; wait for it (GET " +
                                             $"{ApiRoutes.Sagas}/{claim.HeldBy}) and submit again", null, claim.HeldBy, claim.Resource),
                Json, statusCode: StatusCodes.Status409Conflict);
        }

        try
        {
            var endpoint = await services.GetRequiredService<ISendEndpointProvider>()
                .GetSendEndpoint(services.GetRequiredService<CoordinatorEndpoints>().SagaAddress).ConfigureAwait(false);
            await endpoint.Send(request, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            CoordinatorLog.RequestSendFailed(logger, exception, sagaId);
            await claims.ReleaseAsync(sagaId, CancellationToken.None).ConfigureAwait(false);
            return Results.Json(new ApiError($"the request could not be handed to the saga queue ({exception.Message}); nothing was started"), Json,
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        CoordinatorLog.Accepted(logger, kind, sagaId, target.Vm.ToString(), target.Host.ToString(), target.RequestedBy);
        var location = $"{ApiRoutes.Sagas}/{sagaId}";
        return new LocationResult(Results.Json(new SagaAccepted(sagaId, kind, location), Json, statusCode: StatusCodes.Status202Accepted), location);
    }

    private static async Task<bool> HasFinishedAsync(IServiceProvider services, Guid sagaId, CancellationToken cancellationToken)
    {
        var record = await services.GetRequiredService<ISagaStateReader<PassthroughSagaState>>().GetAsync(sagaId, cancellationToken).ConfigureAwait(false);
        return record?.Instance.Outcome is not null;
    }

    private static async Task<IResult> GetSagaAsync(HttpContext http, string id)
    {
        if (!Guid.TryParse(id, out var sagaId))
        {
            return BadRequest(new ApiError($"saga id {Contracts.InputText.Quote(id)} is not a GUID", "id"));
        }

        var reader = http.RequestServices.GetRequiredService<ISagaStateReader<PassthroughSagaState>>();
        var record = await reader.GetAsync(sagaId, http.RequestAborted).ConfigureAwait(false);
        return record is null
            ? Results.Json(new ApiError($"no saga {sagaId}", "id"), Json, statusCode: StatusCodes.Status404NotFound)
            : Results.Json(ToView(record), Json);
    }

    private static async Task<IResult> ListSagasAsync(HttpContext http)
    {
        if (!TryQueryInt(http, "skip", 0, 0, int.MaxValue, out var skip, out var error)
            || !TryQueryInt(http, "take", DefaultTake, 1, MaxTake, out var take, out error))
        {
            return BadRequest(error!);
        }

        var reader = http.RequestServices.GetRequiredService<ISagaStateReader<PassthroughSagaState>>();
        var page = await reader.ListAsync(skip, take, http.RequestAborted).ConfigureAwait(false);
        return Results.Json(new SagaPage([.. page.Select(ToView)], skip, take), Json);
    }

    private static async Task<IResult> HealthAsync(HttpContext http)
    {
        var services = http.RequestServices;
        var database = services.GetRequiredService<SagaStoreDatabase>();
        try
        {
            // A cheap read proves the store answers (a coordinator that cannot save sagas is not healthy).
            await services.GetRequiredService<ISagaStateReader<PassthroughSagaState>>().ListAsync(0, 1, http.RequestAborted).ConfigureAwait(false);
            return Results.Json(new HealthView("ok", database.ProviderName, database.Description), Json);
        }
        catch (System.Data.Common.DbException exception)
        {
            return Results.Json(new HealthView($"store unavailable: {exception.Message}", database.ProviderName, database.Description), Json,
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>
    /// The dom0 drivers a release gives each device back to: from the newest Completed passthrough of this VM on this
    /// host that included the device (its detach record); none when there is no such saga (the host agent then lets
    /// drivers_probe choose).
    /// </summary>
    private static async Task<IReadOnlyList<DriverBinding>> KnownOriginalDriversAsync(ISagaStateReader<PassthroughSagaState> reader, ValidTarget target,
        CancellationToken cancellationToken)
    {
        Dictionary<PciAddress, DriverBinding> found = [];
        for (var skip = 0; found.Count < target.Devices.Count; skip += ScanPage)
        {
            var page = await reader.ListAsync(skip, ScanPage, cancellationToken).ConfigureAwait(false);
            foreach (var saga in page.Select(r => r.Instance))
            {
                if (saga is not { Kind: SagaKind.Passthrough, Outcome: SagaOutcome.Completed, DetachRecord: { } record }
                    || saga.Vm != target.Vm || saga.Host != target.Host)
                {
                    continue;
                }

                foreach (var binding in record.Bindings)
                {
                    if (target.Devices.Contains(binding.Address))
                    {
                        found.TryAdd(binding.Address, binding);
                    }
                }
            }

            if (page.Count < ScanPage)
            {
                break;
            }
        }

        return [.. target.Devices.Where(found.ContainsKey).Select(d => found[d])];
    }

    private static async Task<(T? Body, ApiError? Error)> ReadAsync<T>(HttpContext http)
        where T : class
    {
        try
        {
            var body = await JsonSerializer.DeserializeAsync<T>(http.Request.Body, Json, http.RequestAborted).ConfigureAwait(false);
            return (body, null);
        }
        catch (JsonException exception)
        {
            var field = exception.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
            return (null, new ApiError($"the request body is not valid: {exception.Message}", field));
        }
    }

    private static bool TryQueryInt(HttpContext http, string name, int fallback, int min, int max, out int value, out ApiError? error)
    {
        error = null;
        value = fallback;
        var text = http.Request.Query[name].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value)
            || value < min || value > max)
        {
            error = new ApiError($"{name} {Contracts.InputText.Quote(text)} must be a whole number from {min} to {max}", name);
            return false;
        }

        return true;
    }

    // A Delegate, not a RequestDelegate, so the returned IResult is written to the response.
    private static Delegate Handler(Func<HttpContext, Task<IResult>> handler) => handler;

    private static IResult BadRequest(ApiError error) => Results.Json(error, Json, statusCode: StatusCodes.Status400BadRequest);

    private sealed record HealthView(string Status, string Store, string Description);

    // 202 with a Location header, which Results.Json cannot set.
    private sealed class LocationResult(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
