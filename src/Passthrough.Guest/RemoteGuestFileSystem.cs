using Passthrough.Shell;

namespace Passthrough.Guest;

/// <summary>
/// Reads a Linux guest through an <see cref="ICommandRunner"/> (normally SSH), for guests that cannot run the agent: the
/// tutorial's Debian 7 guest has glibc 2.13, far below what .NET needs. Only plain tools every Linux has are used, each as
/// an argument vector (never a shell string): <c>grep -H</c> to read many files in one round trip, <c>cat</c>,
/// <c>ls -1</c>, <c>ls -1d</c>, <c>readlink</c> and <c>dmesg</c>.
/// </summary>
/// <remarks>
/// Every path must pass <see cref="GuestPaths.EnsureAllowed"/>: the fixed paths of the probe, PCI attributes under a
/// validated BDF and the modules files of a validated kernel release. Anything else throws
/// <see cref="ArgumentException"/> before a command is sent. Non-zero exits of the tools mean "missing / unreadable";
/// exit 126/127 (the tool itself is missing) throws <see cref="GuestProbeException"/>; transport failures propagate as
/// the runner's <see cref="CommandException"/>s.
/// </remarks>
public sealed class RemoteGuestFileSystem : IGuestFileSystem
{
    /// <summary>How many files one <c>grep -H</c> reads at most; larger batches are split.</summary>
    public const int MaxPathsPerCommand = 64;

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly ICommandRunner _runner;

    /// <summary>Creates a reader over <paramref name="runner"/>; the caller keeps owning the runner.</summary>
    public RemoteGuestFileSystem(ICommandRunner runner)
    {
        _runner = runner ?? throw new ArgumentNullException(nameof(runner));
    }

    /// <inheritdoc />
    public string Description => _runner.Target.ToString();

    /// <inheritdoc />
    public async Task<string?> ReadTextAsync(string path, CancellationToken cancellationToken = default)
    {
        GuestPaths.EnsureAllowed(path);
        var result = await RunAsync("cat", ["--", path], cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result.StandardOutput : null;
    }

    /// <inheritdoc />
    /// <remarks>
    /// One <c>grep -H -e '' -- FILE…</c> per <see cref="MaxPathsPerCommand"/> files: every line comes back prefixed
    /// with its file name, and a file that cannot be read is named on stderr. A file in neither is empty.
    /// </remarks>
    public async Task<IReadOnlyDictionary<string, string?>> ReadTextsAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        var unique = Validate(paths);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var chunk in unique.Chunk(MaxPathsPerCommand))
        {
            var output = await RunAsync("grep", ["-H", "-e", string.Empty, "--", .. chunk], cancellationToken).ConfigureAwait(false);
            foreach (var (path, text) in ParseGrep(chunk, output.StandardOutput, output.StandardError))
            {
                result[path] = text;
            }
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        GuestPaths.EnsureAllowed(path);
        var result = await RunAsync("ls", ["-1", "--", path], cancellationToken).ConfigureAwait(false);
        return result.Succeeded
            ? [.. TextLines.Split(result.StandardOutput).Where(name => name.Length > 0).Order(StringComparer.Ordinal)]
            : null;
    }

    /// <inheritdoc />
    public async Task<string?> ReadLinkAsync(string path, CancellationToken cancellationToken = default)
    {
        GuestPaths.EnsureAllowed(path);
        var result = await RunAsync("readlink", ["--", path], cancellationToken).ConfigureAwait(false);
        var target = result.StandardOutput.TrimEnd('\n', '\r');
        return result.Succeeded && target.Length > 0 ? target : null;
    }

    /// <inheritdoc />
    /// <remarks>
    /// One <c>readlink</c> per path, all started at once: readlink takes a single operand on older coreutils (8.13 in
    /// Debian 7) and busybox, and the runner multiplexes the commands over one connection.
    /// </remarks>
    public async Task<IReadOnlyDictionary<string, string?>> ReadLinksAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        var unique = Validate(paths);
        var targets = await Task.WhenAll(unique.Select(path => ReadLinkAsync(path, cancellationToken))).ConfigureAwait(false);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < unique.Count; i++)
        {
            result[unique[i]] = targets[i];
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) =>
        (await ExistingAsync([path], cancellationToken).ConfigureAwait(false)).Contains(path);

    /// <inheritdoc />
    /// <remarks>One <c>ls -1d -- PATH…</c>: it prints the paths that exist (in its own order) and complains about the rest.</remarks>
    public async Task<IReadOnlySet<string>> ExistingAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        var unique = Validate(paths);
        var wanted = new HashSet<string>(unique, StringComparer.Ordinal);
        var existing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in unique.Chunk(MaxPathsPerCommand))
        {
            var result = await RunAsync("ls", ["-1d", "--", .. chunk], cancellationToken).ConfigureAwait(false);
            existing.UnionWith(TextLines.Split(result.StandardOutput).Where(wanted.Contains));
        }

        return existing;
    }

    /// <inheritdoc />
    /// <remarks><c>dmesg</c> only: the syslog file may hold older boots, and non-root users are often refused both.</remarks>
    public async Task<string?> ReadKernelLogAsync(CancellationToken cancellationToken = default)
    {
        var result = await RunAsync("dmesg", [], cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result.StandardOutput : null;
    }

    private static List<string> Validate(IReadOnlyCollection<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        foreach (var path in paths)
        {
            GuestPaths.EnsureAllowed(path);
        }

        return [.. paths.Distinct(StringComparer.Ordinal)];
    }

    private async Task<CommandResult> RunAsync(string program, string[] arguments, CancellationToken cancellationToken)
    {
        var request = new CommandRequest(program, arguments) { Timeout = CommandTimeout };
        var result = await _runner.RunAsync(request, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode is 126 or 127)
        {
            throw new GuestProbeException(
                $"'{program}' cannot be run on {_runner.Target} (exit status {result.ExitCode}: {result.StandardError.Trim()}); the agentless probe needs grep, cat, ls, readlink and dmesg.");
        }

        return result;
    }

    // grep prints "PATH:LINE" for every line of every file, files in the order given; an unreadable file is named on
    // stderr as "grep: PATH: reason". Paths are known exactly, so a BDF's own colons cannot confuse the split.
    internal static IEnumerable<KeyValuePair<string, string?>> ParseGrep(IReadOnlyList<string> paths, string standardOutput, string standardError)
    {
        var contents = paths.ToDictionary(p => p, _ => new System.Text.StringBuilder(), StringComparer.Ordinal);
        var byLength = paths.OrderByDescending(p => p.Length).ToArray();
        var current = 0;
        foreach (var line in TextLines.Split(standardOutput))
        {
            var owner = current < paths.Count && line.StartsWith(paths[current] + ":", StringComparison.Ordinal)
                ? paths[current]
                : byLength.FirstOrDefault(p => line.StartsWith(p + ":", StringComparison.Ordinal));
            if (owner is null)
            {
                continue;
            }

            current = IndexOf(paths, owner);
            contents[owner].Append(line, owner.Length + 1, line.Length - owner.Length - 1).Append('\n');
        }

        var unreadable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in TextLines.Split(standardError))
        {
            var rest = line.StartsWith("grep: ", StringComparison.Ordinal) ? line["grep: ".Length..] : line;
            var owner = byLength.FirstOrDefault(p => rest.StartsWith(p + ":", StringComparison.Ordinal));
            if (owner is not null)
            {
                unreadable.Add(owner);
            }
        }

        foreach (var path in paths)
        {
            var text = contents[path];
            yield return new KeyValuePair<string, string?>(path, text.Length == 0 && unreadable.Contains(path) ? null : text.ToString());
        }
    }

    private static int IndexOf(IReadOnlyList<string> paths, string path)
    {
        for (var i = 0; i < paths.Count; i++)
        {
            if (string.Equals(paths[i], path, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return 0;
    }
}
