using Passthrough.Contracts;
using Passthrough.Shell;

namespace Passthrough.Guest;

/// <summary>
/// Reads a Linux tree on this machine under <see cref="Root"/>: <c>/</c> for the machine itself (the guest agent), or a
/// directory holding a guest-shaped tree (tests, the simulated guest). Guest paths are mapped below the root and may not
/// climb out of it (<c>..</c> segments are refused).
/// </summary>
public sealed class LocalGuestFileSystem : IGuestFileSystem
{
    /// <summary>The most of <c>/var/log/kern.log</c> read (its tail): 16 MiB.</summary>
    public const int MaxKernelLogBytes = 16 * 1024 * 1024;

    private readonly ICommandRunner? _runner;

    /// <summary>Creates a view of the tree under <paramref name="root"/>.</summary>
    /// <param name="root">An absolute directory; default <c>/</c>.</param>
    /// <param name="kernelLogRunner">
    /// Runs <c>dmesg</c> when the root is <c>/</c>; default a <see cref="LocalCommandRunner"/>. Ignored for any other
    /// root, whose kernel log is its <c>var/log/kern.log</c>.
    /// </param>
    /// <exception cref="ArgumentException">The root is not an absolute path.</exception>
    public LocalGuestFileSystem(string root = "/", ICommandRunner? kernelLogRunner = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        if (!Path.IsPathFullyQualified(root))
        {
            throw new ArgumentException($"The guest root {InputText.Quote(root)} must be an absolute path.", nameof(root));
        }

        Root = Path.GetFullPath(root);
        IsMachineRoot = Root == "/";
        _runner = IsMachineRoot ? kernelLogRunner ?? new LocalCommandRunner() : null;
    }

    /// <summary>The directory guest paths are mapped below.</summary>
    public string Root { get; }

    /// <summary>True when the root is <c>/</c>: this machine itself.</summary>
    public bool IsMachineRoot { get; }

    /// <inheritdoc />
    public string Description => $"local root {Root}";

    /// <inheritdoc />
    public async Task<string?> ReadTextAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Map(path);
        try
        {
            return await File.ReadAllTextAsync(full, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Map(path);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (!Directory.Exists(full))
            {
                return Task.FromResult<IReadOnlyList<string>?>(null);
            }

            IReadOnlyList<string> names = [.. Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
            return Task.FromResult<IReadOnlyList<string>?>(names);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult<IReadOnlyList<string>?>(null);
        }
    }

    /// <inheritdoc />
    public Task<string?> ReadLinkAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Map(path);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return Task.FromResult(new FileInfo(full).LinkTarget);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult<string?>(null);
        }
    }

    /// <inheritdoc />
    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Map(path);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(File.Exists(full) || Directory.Exists(full));
    }

    /// <inheritdoc />
    /// <remarks>
    /// For the machine root: <c>dmesg</c> (the current boot), falling back to <c>/var/log/kern.log</c> when dmesg is
    /// refused (kernel.dmesg_restrict for non-root) or missing. For any other root: its <c>var/log/kern.log</c>. Of a
    /// large kern.log only the last <see cref="MaxKernelLogBytes"/> are read.
    /// </remarks>
    public async Task<string?> ReadKernelLogAsync(CancellationToken cancellationToken = default)
    {
        if (_runner is not null)
        {
            try
            {
                var result = await _runner.RunAsync(new CommandRequest("dmesg") { Timeout = TimeSpan.FromSeconds(30) }, cancellationToken).ConfigureAwait(false);
                if (result.Succeeded)
                {
                    return result.StandardOutput;
                }
            }
            catch (CommandException)
            {
                // dmesg missing or stuck: the syslog copy below may still be there.
            }
        }

        var full = Map(GuestPaths.KernLog);
        try
        {
            await using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024, useAsync: true);
            if (stream.CanSeek && stream.Length > MaxKernelLogBytes)
            {
                stream.Seek(-MaxKernelLogBytes, SeekOrigin.End);
            }

            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // Guest path → host path below the root. Refuses relative paths and any "." or ".." segment, so a path built from
    // guest-controlled text cannot leave the tree.
    private string Map(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.StartsWith('/') || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{InputText.Quote(path)} is not an absolute guest path.", nameof(path));
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Any(s => s is "." or ".."))
        {
            throw new ArgumentException($"{InputText.Quote(path)} climbs out of the guest root ('.' or '..' segment).", nameof(path));
        }

        return segments.Length == 0 ? Root : Path.Join(Root, string.Join('/', segments));
    }
}
