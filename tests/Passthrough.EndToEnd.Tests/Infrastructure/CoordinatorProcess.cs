using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Passthrough.Contracts.Api;

namespace Passthrough.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The coordinator as its own process (the built <c>Passthrough.Coordinator.dll</c>, run with <c>dotnet</c>), configured
/// through environment variables like a service: broker, SQLite file, listen URL, compressed deadlines. It can be killed
/// (SIGKILL: no shutdown, no flush, whatever was in flight is lost) and started again on the same file and broker.
/// </summary>
internal sealed class CoordinatorProcess : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Uri _broker;
    private readonly string _sqlitePath;
    private readonly StringBuilder _log = new();
    private Process? _process;

    public CoordinatorProcess(Uri broker, string sqlitePath)
    {
        _broker = broker;
        _sqlitePath = sqlitePath;
        Api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{FreePort()}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public HttpClient Api { get; }

    /// <summary>Everything the process printed, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public int Starts { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Passthrough.Coordinator.dll");
        Assert.True(File.Exists(dll), $"The coordinator was not built next to the tests: {dll}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(dll);
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["Bus__RabbitMq"] = _broker.ToString();
        start.Environment["Coordinator__ListenUrl"] = Api.BaseAddress!.ToString().TrimEnd('/');
        start.Environment["Coordinator__Store__Provider"] = "Sqlite";
        start.Environment["Coordinator__Store__SqlitePath"] = _sqlitePath;
        // Deadlines at a fifth of production (a 2-minute preflight gets 24 s): short enough for a test, long enough that a
        // loaded 2-core machine never times a healthy step out.
        start.Environment["Coordinator__TimeScale"] = "0.2";
        start.Environment["Coordinator__WatchdogInterval"] = "00:00:02";
        start.Environment["Coordinator__WatchdogGrace"] = "00:00:01";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Passthrough"] = "Information";
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Starts++;
        Append($"--- start #{Starts} (pid {process.Id}) ---");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(process.HasExited, $"The coordinator exited with {(process.HasExited ? process.ExitCode : 0)}:\n{Log}");
            try
            {
                using var response = await Api.GetAsync(new Uri(ApiRoutes.Health, UriKind.Relative), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, cancellationToken);
        }

        Assert.Fail($"The coordinator did not answer {ApiRoutes.Health} within 60 s:\n{Log}");
    }

    /// <summary>SIGKILL: the process ends at once, mid-message if it was in one.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            Append($"--- killed (pid {process.Id}) ---");
        }

        _process?.Dispose();
        _process = null;
    }

    public async Task<SagaAccepted> SubmitAsync(PassthroughRequestBody body, CancellationToken cancellationToken)
    {
        using var response = await Api.PostAsJsonAsync(ApiRoutes.Passthroughs, body, Json, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"submit answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        return (await response.Content.ReadFromJsonAsync<SagaAccepted>(Json, cancellationToken))!;
    }

    /// <summary>The saga, or null while the coordinator is down or does not know it yet.</summary>
    public async Task<SagaView?> TryGetAsync(Guid id, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Api.GetAsync(new Uri($"{ApiRoutes.Sagas}/{id}", UriKind.Relative), cancellationToken);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<SagaView>(Json, cancellationToken) : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Api.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
