using System.Collections.Concurrent;
using Passthrough.Shell;
using Passthrough.Testing;

namespace Passthrough.Guest.Tests;

internal static class Probe
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static Task<GuestReport> TreeAsync(GuestTree tree, LinuxGuestProbeOptions? options = null) =>
        new LinuxGuestProbe(new LocalGuestFileSystem(tree.Root), options).ProbeAsync(Ct);
}

/// <summary>Forwards to another file system and records every path asked for, batch or single.</summary>
internal sealed class RecordingFileSystem(IGuestFileSystem inner) : IGuestFileSystem
{
    public ConcurrentQueue<string> Paths { get; } = new();

    public string Description => inner.Description;

    public Task<string?> ReadTextAsync(string path, CancellationToken cancellationToken = default)
    {
        Paths.Enqueue(path);
        return inner.ReadTextAsync(path, cancellationToken);
    }

    public Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        Paths.Enqueue(path);
        return inner.ListDirectoryAsync(path, cancellationToken);
    }

    public Task<string?> ReadLinkAsync(string path, CancellationToken cancellationToken = default)
    {
        Paths.Enqueue(path);
        return inner.ReadLinkAsync(path, cancellationToken);
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        Paths.Enqueue(path);
        return inner.ExistsAsync(path, cancellationToken);
    }

    public Task<string?> ReadKernelLogAsync(CancellationToken cancellationToken = default) => inner.ReadKernelLogAsync(cancellationToken);

    public Task<IReadOnlyDictionary<string, string?>> ReadTextsAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        foreach (var path in paths)
        {
            Paths.Enqueue(path);
        }

        return inner.ReadTextsAsync(paths, cancellationToken);
    }

    public Task<IReadOnlyDictionary<string, string?>> ReadLinksAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        foreach (var path in paths)
        {
            Paths.Enqueue(path);
        }

        return inner.ReadLinksAsync(paths, cancellationToken);
    }

    public Task<IReadOnlySet<string>> ExistingAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        foreach (var path in paths)
        {
            Paths.Enqueue(path);
        }

        return inner.ExistingAsync(paths, cancellationToken);
    }
}

/// <summary>Forwards to another runner (or answers itself) and records every request.</summary>
internal sealed class RecordingRunner(ICommandRunner? inner, Func<CommandRequest, CommandResult?>? answer = null) : ICommandRunner
{
    public ConcurrentQueue<CommandRequest> Requests { get; } = new();

    public CommandTarget Target => inner?.Target ?? CommandTarget.Local;

    public Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken = default)
    {
        Requests.Enqueue(request);
        if (answer?.Invoke(request) is { } result)
        {
            return Task.FromResult(result);
        }

        return inner is not null
            ? inner.RunAsync(request, cancellationToken)
            : throw new InvalidOperationException($"No answer for {request.Display}.");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public static CommandResult Result(CommandRequest request, int exitCode, string stdout = "", string stderr = "") =>
        new(request, CommandTarget.Local, exitCode, stdout, stderr, TimeSpan.FromMilliseconds(1));
}
