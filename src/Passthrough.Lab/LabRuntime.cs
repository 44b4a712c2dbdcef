using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Api;
using Passthrough.Coordinator.Api;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator;
using Passthrough.GuestAgent.MassTransit;
using Passthrough.HostAgent;
using Passthrough.Hosting;

namespace Passthrough.Lab;

/// <summary>What a <see cref="LabRuntime"/> runs and on what.</summary>
public sealed class LabRuntimeOptions
{
    /// <summary>The simulated fleet: its hosts are served by the in-process host agent, its VMs get guest agents.</summary>
    public required SimulatedFleet Fleet { get; init; }

    /// <summary>Where the coordinator's SQLite store and the host agent's command record live.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>The RabbitMQ broker; null runs MassTransit's in-memory bus.</summary>
    public Uri? RabbitMq { get; init; }

    /// <summary>A PostgreSQL connection string for the saga store; null keeps SQLite in <see cref="StateDirectory"/>.</summary>
    public string? Postgres { get; init; }

    /// <summary>The coordinator API's listen URL; port 0 picks a free port (read <see cref="LabRuntime.ApiAddress"/>).</summary>
    public string Url { get; init; } = "http://127.0.0.1:0";

    /// <summary>Whether this process runs the coordinator (false: one runs elsewhere on the same broker).</summary>
    public bool RunCoordinator { get; init; } = true;

    /// <summary>Whether this process runs the host agent and the guest agents of the fleet.</summary>
    public bool RunAgents { get; init; } = true;

    /// <summary>Saga store options on top of the lab's (SQLite in <see cref="StateDirectory"/>, or <see cref="Postgres"/>).</summary>
    public Action<SagaStoreOptions>? Store { get; init; }

    /// <summary>Coordinator options on top of the defaults (deadlines, time scale).</summary>
    public Action<CoordinatorOptions>? Coordinator { get; init; }

    /// <summary>Host agent options on top of the lab's (heartbeats, dom0 timeouts).</summary>
    public Action<HostAgentOptions>? HostAgent { get; init; }

    /// <summary>Guest agent supervisor options.</summary>
    public Action<GuestAgentSupervisorOptions>? Supervisor { get; init; }

    /// <summary>Guest agent timing.</summary>
    public Action<GuestAgentFleetOptions>? GuestAgents { get; init; }

    /// <summary>Logging; null logs nothing. Share one factory between runtimes of one process (MassTransit keeps the first).</summary>
    public ILoggerFactory? Loggers { get; init; }
}

/// <summary>
/// The whole system in one process on a simulated fleet: the coordinator (sagas, durable store and scheduler, HTTP API),
/// one host agent serving every simulated host through its in-process dom0 runner, and a guest agent per running VM —
/// all on one MassTransit bus, in-memory or RabbitMQ. The lab, the end-to-end tests and the benchmark start it.
/// </summary>
public sealed class LabRuntime : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly WebApplication _app;
    private int _disposed;

    private LabRuntime(WebApplication app, Uri? apiAddress, SimulatedFleet fleet)
    {
        _app = app;
        ApiAddress = apiAddress;
        Fleet = fleet;
        Api = apiAddress is null ? null : new HttpClient { BaseAddress = apiAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The coordinator API's base address, when this runtime runs the coordinator.</summary>
    public Uri? ApiAddress { get; }

    /// <summary>A client for the API (null without a coordinator).</summary>
    public HttpClient? Api { get; }

    /// <summary>The fleet.</summary>
    public SimulatedFleet Fleet { get; }

    /// <summary>The runtime's services (the bus, the saga store reader, the host connections).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Builds and starts the runtime; the bus is connected and every endpoint listening when it returns.</summary>
    public static async Task<LabRuntime> StartAsync(LabRuntimeOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        Directory.CreateDirectory(options.StateDirectory);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        builder.Logging.ClearProviders();
        if (options.Loggers is { } loggers)
        {
            builder.Services.AddSingleton(loggers);
        }

        builder.WebHost.UseUrls(options.Url);
        builder.Services.AddSingleton(options.Fleet.Time);

        if (options.RunAgents)
        {
            builder.Services.AddHostAgent(agent =>
            {
                agent.CommandRecordPath = Path.Combine(options.StateDirectory, "host-agent-commands.db");
                foreach (var host in options.Fleet.Hosts)
                {
                    agent.AddHost(host.HostId, host.Runner);
                }

                options.HostAgent?.Invoke(agent);
            });
        }

        if (options.RunCoordinator)
        {
            builder.Services.AddCoordinator(coordinator =>
            {
                coordinator.ListenUrl = options.Url;
                options.Coordinator?.Invoke(coordinator);
            });
            builder.Services.AddPassthroughSagaStore(store =>
            {
                if (options.Postgres is { } postgres)
                {
                    store.Provider = SagaStoreProvider.PostgreSql;
                    store.PostgresConnectionString = postgres;
                }
                else
                {
                    store.Provider = SagaStoreProvider.Sqlite;
                    store.SqlitePath = Path.Combine(options.StateDirectory, "coordinator.db");
                }

                options.Store?.Invoke(store);
            });
        }

        builder.Services.AddPassthroughBus(
            new BusOptions { RabbitMq = options.RabbitMq },
            x =>
            {
                if (options.RunCoordinator)
                {
                    x.AddCoordinatorSagas();
                }

                if (options.RunAgents)
                {
                    x.AddHostAgentConsumers();
                }
            },
            (context, cfg) =>
            {
                if (options.RunCoordinator)
                {
                    cfg.UseCoordinatorPipeline(context);
                }

                if (options.RunAgents)
                {
                    cfg.ConfigureHostAgentEndpoints(context);
                }
            });

        if (options.RunAgents)
        {
            // After AddMassTransit: the bus starts before the guest agents and stops after them.
            builder.Services.AddSimulatedFleet(options.Fleet, options.Supervisor, options.GuestAgents);
        }

        var app = builder.Build();
        if (options.RunCoordinator)
        {
            app.MapCoordinatorApi();
        }

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        Uri? address = null;
        if (options.RunCoordinator)
        {
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("The coordinator API did not report the address it listens on.");
            address = new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        }

        return new LabRuntime(app, address, options.Fleet);
    }

    /// <summary>Submits a passthrough through the API; throws with the API's error text when it is refused.</summary>
    public async Task<SagaAccepted> SubmitPassthroughAsync(PassthroughRequestBody body, CancellationToken cancellationToken)
    {
        using var response = await RequireApi().PostAsJsonAsync(ApiRoutes.Passthroughs, body, Json, cancellationToken).ConfigureAwait(false);
        return await ReadAcceptedAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Submits a release through the API; throws with the API's error text when it is refused.</summary>
    public async Task<SagaAccepted> SubmitReleaseAsync(ReleaseRequestBody body, CancellationToken cancellationToken)
    {
        using var response = await RequireApi().PostAsJsonAsync(ApiRoutes.Releases, body, Json, cancellationToken).ConfigureAwait(false);
        return await ReadAcceptedAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one saga; null when the coordinator does not know it.</summary>
    public async Task<SagaView?> GetSagaAsync(Guid id, CancellationToken cancellationToken)
    {
        using var response = await RequireApi().GetAsync(new Uri($"{ApiRoutes.Sagas}/{id}", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<SagaView>(Json, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Polls the saga until it has an outcome; throws <see cref="TimeoutException"/> with its last state otherwise.</summary>
    public async Task<SagaView> WaitForOutcomeAsync(Guid id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        SagaView? last = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            last = await GetSagaAsync(id, cancellationToken).ConfigureAwait(false);
            if (last?.Outcome is not null)
            {
                return last;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"Saga {id} has no outcome after {timeout.TotalSeconds:0.#} s; last state {last?.State ?? "unknown"}, step {last?.CurrentStep?.ToString() ?? "none"}.");
    }

    /// <summary>Stops everything: guest agents, then the bus, then the API.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Api?.Dispose();
        try
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private HttpClient RequireApi() => Api ?? throw new InvalidOperationException("This runtime runs no coordinator, so it has no API.");

    private static async Task<SagaAccepted> ReadAcceptedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var error = await response.Content.ReadFromJsonAsync<ApiError>(Json, cancellationToken).ConfigureAwait(false);
            throw new LabApiException((int)response.StatusCode, error ?? new ApiError($"HTTP {(int)response.StatusCode}"));
        }

        return await response.Content.ReadFromJsonAsync<SagaAccepted>(Json, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The coordinator answered 202 without a body.");
    }
}

/// <summary>The coordinator API refused a request.</summary>
public sealed class LabApiException : Exception
{
    public LabApiException(int status, ApiError error)
        : base($"HTTP {status}: {error.Error}")
    {
        Status = status;
        Error = error;
    }

    public LabApiException()
    {
        Error = new ApiError(string.Empty);
    }

    public LabApiException(string message)
        : base(message)
    {
        Error = new ApiError(message);
    }

    public LabApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = new ApiError(message);
    }

    /// <summary>The HTTP status.</summary>
    public int Status { get; }

    /// <summary>The API's error.</summary>
    public ApiError Error { get; }
}
