namespace Passthrough.Guest;

/// <summary>
/// The narrow read-only view of a Linux guest that <see cref="LinuxGuestProbe"/> needs. Paths are absolute guest paths
/// (<c>/sys/…</c>); an implementation maps them to a local root (<see cref="LocalGuestFileSystem"/>) or reads them over
/// a command runner (<see cref="RemoteGuestFileSystem"/>, which accepts only the fixed paths in <see cref="GuestPaths"/>).
/// </summary>
/// <remarks>
/// "Not there" and "not readable" are answers (null, false), never exceptions: the probe reports them as facts. Methods
/// throw only when the guest cannot be read at all (transport failures from the command runner, a required tool missing
/// on the guest) or when a path is malformed or not allowed (<see cref="ArgumentException"/>, before anything is read).
/// The batch methods exist so a remote implementation can answer many paths in one round trip; their default
/// implementations call the single-path methods.
/// </remarks>
public interface IGuestFileSystem
{
    /// <summary>Where this reads from, for messages: <c>local root /</c>, <c>ssh://root@guest:22</c>.</summary>
    string Description { get; }

    /// <summary>The text of a file, or null when it does not exist or cannot be read.</summary>
    Task<string?> ReadTextAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The names in a directory (not paths, ordinal order), or null when it does not exist or cannot be listed.</summary>
    Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The target of a symbolic link as stored (often relative), or null when the path is not a link.</summary>
    Task<string?> ReadLinkAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>True when a file, directory or link to one exists at the path.</summary>
    Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// The kernel log of the current boot when it can be read (<c>dmesg</c>), else the syslog's <c>/var/log/kern.log</c>
    /// where the implementation may read it; null when neither is readable.
    /// </summary>
    Task<string?> ReadKernelLogAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads many files; every requested path is a key, with null for those missing or unreadable.</summary>
    async Task<IReadOnlyDictionary<string, string?>> ReadTextsAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            result[path] = await ReadTextAsync(path, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Reads many links; every requested path is a key, with null for those that are not links.</summary>
    async Task<IReadOnlyDictionary<string, string?>> ReadLinksAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            result[path] = await ReadLinkAsync(path, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>The subset of <paramref name="paths"/> that exist.</summary>
    async Task<IReadOnlySet<string>> ExistingAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (await ExistsAsync(path, cancellationToken).ConfigureAwait(false))
            {
                result.Add(path);
            }
        }

        return result;
    }
}
