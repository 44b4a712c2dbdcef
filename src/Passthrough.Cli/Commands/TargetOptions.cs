using System.CommandLine;
using Passthrough.Shell;

namespace Passthrough.Cli.Commands;

/// <summary>The options that name a host: <c>--target local|ssh://user@host:port</c>, <c>--identity</c>, <c>--host-key</c>.</summary>
internal sealed class TargetOptions
{
    public Option<string> Target { get; } = new("--target", "-t")
    {
        Description = "local, or ssh://user@host[:port]",
        Required = true,
    };

    public Option<FileInfo?> Identity { get; } = new("--identity", "-i")
    {
        Description = "private key file for SSH targets",
    };

    public Option<string?> HostKey { get; } = new("--host-key")
    {
        Description = "the server's pinned host-key fingerprint, SHA256:… (ssh-keygen -lf on the host)",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Target);
        command.Options.Add(Identity);
        command.Options.Add(HostKey);
    }

    /// <summary>Parses the target; a malformed one throws <see cref="FormatException"/> naming the problem.</summary>
    public CommandTarget Parse(ParseResult result)
    {
        var identity = result.GetValue(Identity);
        var target = CommandTarget.Parse(result.GetValue(Target)!, identity?.FullName, result.GetValue(HostKey));
        if (target is SshTarget && identity is { Exists: false })
        {
            throw new FormatException($"Identity file '{identity.FullName}' does not exist.");
        }

        return target;
    }
}
