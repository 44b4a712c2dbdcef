using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Passthrough.Cli.Output;
using Passthrough.Contracts.Api;

namespace Passthrough.Cli.Coordinator;

/// <summary>The coordinator answered with an error (<see cref="ApiError"/>).</summary>
internal sealed class CoordinatorApiException(HttpStatusCode status, ApiError error)
    : Exception(error.Error)
{
    public HttpStatusCode Status { get; } = status;

    public ApiError Error { get; } = error;
}

/// <summary>The coordinator could not be reached (refused, unknown host, no answer in time, not an HTTP server).</summary>
internal sealed class CoordinatorUnreachableException(Uri coordinator, string reason, Exception? inner = null)
    : Exception($"the coordinator at {coordinator} is unreachable: {reason}", inner)
{
    public Uri Coordinator { get; } = coordinator;
}

/// <summary>
/// The coordinator's HTTP API (<see cref="ApiRoutes"/>) as the CLI uses it: JSON with camelCase names and enums as
/// strings, every non-success answer turned into a <see cref="CoordinatorApiException"/> carrying the coordinator's
/// <see cref="ApiError"/>, and every transport failure into a <see cref="CoordinatorUnreachableException"/> naming the URL.
/// </summary>
internal sealed class CoordinatorClient : IDisposable
{
    /// <summary>How long one request may take before the coordinator counts as unreachable.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    // The API's wire format: camelCase names, enums as strings, compact (the indented OutputOptions.Json is for people).
    private static readonly JsonSerializerOptions Wire = new(OutputOptions.Json) { WriteIndented = false };

    private readonly HttpClient _http;

    public CoordinatorClient(Uri baseAddress, HttpMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentNullException.ThrowIfNull(handler);
        BaseAddress = baseAddress;
        _http = new HttpClient(handler, disposeHandler: true) { BaseAddress = baseAddress, Timeout = RequestTimeout };
    }

    public Uri BaseAddress { get; }

    public Task<SagaAccepted> SubmitPassthroughAsync(PassthroughRequestBody body, CancellationToken cancellationToken) =>
        SendAsync<SagaAccepted>(() => new HttpRequestMessage(HttpMethod.Post, ApiRoutes.Passthroughs) { Content = JsonContent.Create(body, options: Wire) }, cancellationToken);

    public Task<SagaAccepted> SubmitReleaseAsync(ReleaseRequestBody body, CancellationToken cancellationToken) =>
        SendAsync<SagaAccepted>(() => new HttpRequestMessage(HttpMethod.Post, ApiRoutes.Releases) { Content = JsonContent.Create(body, options: Wire) }, cancellationToken);

    public Task<SagaView> GetSagaAsync(Guid id, CancellationToken cancellationToken) =>
        SendAsync<SagaView>(() => new HttpRequestMessage(HttpMethod.Get, $"{ApiRoutes.Sagas}/{id:D}"), cancellationToken);

    public Task<SagaPage> ListSagasAsync(int skip, int take, CancellationToken cancellationToken) =>
        SendAsync<SagaPage>(() => new HttpRequestMessage(HttpMethod.Get, FormattableString.Invariant($"{ApiRoutes.Sagas}?skip={skip}&take={take}")), cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> request, CancellationToken cancellationToken)
        where T : class
    {
        HttpResponseMessage response;
        try
        {
            using var message = request();
            response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException exception)
        {
            throw new CoordinatorUnreachableException(BaseAddress, Reason(exception), exception);
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient reports its own timeout as a cancellation; the operator's Ctrl+C is the token's.
            throw new CoordinatorUnreachableException(BaseAddress, $"no answer within {RequestTimeout.TotalSeconds:0} s", exception);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return await ReadAsync<T>(response, cancellationToken).ConfigureAwait(false)
                    ?? throw new CoordinatorUnreachableException(BaseAddress, $"{(int)response.StatusCode} with an empty body where a {typeof(T).Name} was expected");
            }

            ApiError? error = null;
            try
            {
                error = await ReadAsync<ApiError>(response, cancellationToken).ConfigureAwait(false);
            }
            catch (CoordinatorUnreachableException)
            {
                // Not the coordinator's error shape (a proxy's page, say): report the status line instead.
            }

            throw new CoordinatorApiException(
                response.StatusCode,
                error is { Error.Length: > 0 } ? error : new ApiError($"HTTP {(int)response.StatusCode} {response.ReasonPhrase} from {BaseAddress}"));
        }
    }

    private async Task<T?> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(Wire, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException exception)
        {
            throw new CoordinatorUnreachableException(BaseAddress, $"the answer to {response.RequestMessage?.RequestUri?.PathAndQuery} is not the coordinator's JSON ({exception.Message})", exception);
        }
        catch (NotSupportedException exception)
        {
            throw new CoordinatorUnreachableException(BaseAddress, $"the answer has content type '{response.Content.Headers.ContentType}', not JSON", exception);
        }
    }

    // The innermost message is the useful one ("Connection refused"), the outer one only repeats the URL.
    private static string Reason(HttpRequestException exception)
    {
        Exception inner = exception;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return inner.Message;
    }
}
