using System.Text.RegularExpressions;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Interpreter;

/// <summary>The coreutils / util-linux / udev tools the driver runs on dom0 files, over <see cref="Dom0FileSystem"/>.</summary>
internal static class FileCommands
{
    public static void Cat(Dom0FileSystem fs, IReadOnlyList<string> args, CommandOutput o)
    {
        foreach (var path in args)
        {
            var resolved = fs.Resolve(path, followLast: true);
            switch (resolved?.Node)
            {
                case null:
                    o.Fail(1, $"cat: {path}: No such file or directory");
                    break;
                case FsDirectory:
                    o.Fail(1, $"cat: {path}: Is a directory");
                    break;
                case FsFile { Read: { } read }:
                    o.Out.Append(read());
                    break;
                default:
                    o.Fail(1, $"cat: {path}: Permission denied");
                    break;
            }
        }
    }

    public static void Ls(Dom0FileSystem fs, IReadOnlyList<string> args, CommandOutput o)
    {
        var paths = args.Where(a => !a.StartsWith('-')).ToList();
        if (args.Any(a => a.StartsWith('-') && a != "-1"))
        {
            o.Fail(2, $"ls: invalid option -- '{args.First(a => a.StartsWith('-') && a != "-1").TrimStart('-')}'");
            return;
        }

        foreach (var path in paths.Count == 0 ? ["/"] : paths)
        {
            var resolved = fs.Resolve(path, followLast: true);
            if (resolved is null)
            {
                o.Fail(2, $"ls: cannot access '{path}': No such file or directory");
                continue;
            }

            if (resolved.Value.Node is FsDirectory directory)
            {
                if (paths.Count > 1)
                {
                    o.Line(path + ":");
                }

                foreach (var entry in directory.Entries)
                {
                    o.Line(entry);
                }
            }
            else
            {
                o.Line(path);
            }
        }
    }

    /// <summary><c>grep [-H] PATTERN FILE…</c> with a literal pattern (the driver uses <c>''</c>: every line).</summary>
    public static void Grep(Dom0FileSystem fs, IReadOnlyList<string> args, string? stdin, CommandOutput o)
    {
        var withNames = false;
        var rest = new List<string>();
        foreach (var arg in args)
        {
            if (arg == "-H")
            {
                withNames = true;
            }
            else if (arg.StartsWith('-') && arg.Length > 1 && rest.Count == 0)
            {
                o.Fail(2, $"grep: invalid option -- '{arg[1..]}'");
                return;
            }
            else
            {
                rest.Add(arg);
            }
        }

        if (rest.Count == 0)
        {
            o.Fail(2, "Usage: grep [OPTION]... PATTERNS [FILE]...");
            return;
        }

        var pattern = rest[0];
        var files = rest.Skip(1).ToList();
        var matched = false;
        var failed = false;
        void Search(string? name, string content)
        {
            foreach (var line in Lines(content))
            {
                if (line.Contains(pattern, StringComparison.Ordinal))
                {
                    matched = true;
                    o.Line(name is null ? line : name + ":" + line);
                }
            }
        }

        if (files.Count == 0)
        {
            Search(withNames ? "(standard input)" : null, stdin ?? string.Empty);
        }

        foreach (var file in files)
        {
            var resolved = fs.Resolve(file, followLast: true);
            switch (resolved?.Node)
            {
                case null:
                    o.ErrorLine($"grep: {file}: No such file or directory");
                    failed = true;
                    break;
                case FsDirectory:
                    o.ErrorLine($"grep: {file}: Is a directory");
                    failed = true;
                    break;
                case FsFile { Read: { } read }:
                    Search(withNames || files.Count > 1 ? file : null, read());
                    break;
                default:
                    o.ErrorLine($"grep: {file}: Permission denied");
                    failed = true;
                    break;
            }
        }

        o.Exit = failed ? 2 : matched ? 0 : 1;
    }

    /// <summary><c>find ROOT [-mindepth N] [-maxdepth N] [-name GLOB]</c>, not following symlinks.</summary>
    public static void Find(Dom0FileSystem fs, IReadOnlyList<string> args, CommandOutput o)
    {
        var roots = args.TakeWhile(a => !a.StartsWith('-')).ToList();
        var minDepth = 0;
        var maxDepth = int.MaxValue;
        Regex? name = null;
        for (var i = roots.Count; i < args.Count; i++)
        {
            var option = args[i];
            if (i + 1 >= args.Count)
            {
                o.Fail(1, $"find: missing argument to `{option}'");
                return;
            }

            var value = args[++i];
            switch (option)
            {
                case "-mindepth" when int.TryParse(value, out var min):
                    minDepth = min;
                    break;
                case "-maxdepth" when int.TryParse(value, out var max):
                    maxDepth = max;
                    break;
                case "-name":
                    name = Glob(value);
                    break;
                default:
                    o.Fail(1, $"find: unknown predicate `{option}'");
                    return;
            }
        }

        foreach (var root in roots.Count == 0 ? ["."] : roots)
        {
            var resolved = fs.Resolve(root, followLast: false);
            if (resolved is null)
            {
                o.Fail(1, $"find: '{root}': No such file or directory");
                continue;
            }

            Walk(fs, root.TrimEnd('/') is { Length: > 0 } r ? r : "/", resolved.Value.Path, resolved.Value.Node, 0);
        }

        void Walk(Dom0FileSystem fileSystem, string shown, string canonical, FsNode node, int depth)
        {
            if (depth >= minDepth && depth <= maxDepth && (name is null || name.IsMatch(Path.GetFileName(shown))))
            {
                o.Line(shown);
            }

            if (node is not FsDirectory directory || depth >= maxDepth)
            {
                return;
            }

            foreach (var entry in directory.Entries)
            {
                var childPath = Dom0FileSystem.Join(canonical, entry);
                if (fileSystem.NodeAt(childPath) is { } child)
                {
                    Walk(fileSystem, Dom0FileSystem.Join(shown, entry), childPath, child, depth + 1);
                }
            }
        }
    }

    /// <summary><c>readlink PATH</c> (the link's text; exit 1 when not a link) and <c>readlink -f PATH</c> (canonical path).</summary>
    public static void Readlink(Dom0FileSystem fs, IReadOnlyList<string> args, CommandOutput o)
    {
        var canonicalize = args.Contains("-f");
        var paths = args.Where(a => a != "-f").ToList();
        if (paths.Count == 0)
        {
            o.Fail(1, "readlink: missing operand");
            return;
        }

        foreach (var path in paths)
        {
            if (!canonicalize)
            {
                if (fs.Resolve(path, followLast: false) is { Node: FsLink link })
                {
                    o.Line(link.Target);
                }
                else
                {
                    o.Exit = 1;
                }

                continue;
            }

            if (fs.Resolve(path, followLast: true) is { } full)
            {
                o.Line(full.Path);
                continue;
            }

            var trimmed = path.TrimEnd('/');
            var parent = Dom0FileSystem.Parent(trimmed);
            if (fs.Resolve(parent, followLast: true) is { Node: FsDirectory } dir)
            {
                o.Line(Dom0FileSystem.Join(dir.Path, Path.GetFileName(trimmed)));
            }
            else
            {
                o.Exit = 1;
            }
        }
    }

    /// <summary><c>tee FILE…</c>: copies stdin to stdout and writes it to each file (a sysfs write per file).</summary>
    public static void Tee(Dom0FileSystem fs, IReadOnlyList<string> args, string? stdin, CommandOutput o)
    {
        var text = stdin ?? string.Empty;
        o.Out.Append(text);
        foreach (var path in args.Where(a => a != "-a"))
        {
            var resolved = fs.Resolve(path, followLast: true);
            SysfsError error;
            if (resolved is null)
            {
                error = fs.Resolve(Dom0FileSystem.Parent(path), followLast: true) is { Node: FsDirectory } ? SysfsError.PermissionDenied : SysfsError.NoSuchFile;
            }
            else if (resolved.Value.Node is FsDirectory)
            {
                o.Fail(1, $"tee: {path}: Is a directory");
                continue;
            }
            else if (resolved.Value.Node is FsFile { Write: { } write })
            {
                error = write(text);
            }
            else
            {
                error = SysfsError.PermissionDenied;
            }

            if (error != SysfsError.None)
            {
                o.Fail(1, $"tee: {path}: {HostKernel.Describe(error)}");
            }
        }
    }

    /// <summary><c>findmnt -no SOURCE /</c> (and <c>-n -o SOURCE /</c>).</summary>
    public static void Findmnt(SimulatedHost host, IReadOnlyList<string> args, CommandOutput o)
    {
        var target = args.LastOrDefault(a => !a.StartsWith('-') && a != "SOURCE");
        var wantsSource = args.Contains("SOURCE") || args.Contains("-no") || args.Contains("-nosource");
        if (target == "/" && wantsSource)
        {
            o.Line(host.RootDevice);
            return;
        }

        o.Exit = 1;
    }

    /// <summary><c>udevadm info --query=path --name=DEV</c> (or <c>-q path -n DEV</c>).</summary>
    public static void Udevadm(SimulatedHost host, IReadOnlyList<string> args, CommandOutput o)
    {
        string? query = null;
        string? name = null;
        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--query=", StringComparison.Ordinal))
            {
                query = arg["--query=".Length..];
            }
            else if (arg.StartsWith("--name=", StringComparison.Ordinal))
            {
                name = arg["--name=".Length..];
            }
            else if (arg is "-q" or "--query" && i + 1 < args.Count)
            {
                query = args[++i];
            }
            else if (arg is "-n" or "--name" && i + 1 < args.Count)
            {
                name = args[++i];
            }
        }

        if (args.Count == 0 || args[0] != "info" || query != "path" || name is null)
        {
            o.Fail(1, "udevadm: unsupported invocation (the simulation answers 'udevadm info --query=path --name=DEV')");
            return;
        }

        var device = name.StartsWith("/dev/", StringComparison.Ordinal) ? name : "/dev/" + name;
        var controller = host.FindFunction(host.RootController);
        if (controller is null)
        {
            o.Fail(4, "device node not found");
            return;
        }

        var full = controller.SysfsDevicePath["/sys".Length..] + "/" + host.RootDevicePathTail;
        if (device == host.RootDevice)
        {
            o.Line(full);
        }
        else if (host.RootDevice.StartsWith(device, StringComparison.Ordinal) && full.Contains('/', StringComparison.Ordinal))
        {
            o.Line(full[..full.LastIndexOf('/')]);
        }
        else
        {
            o.Fail(4, "device node not found");
        }
    }

    public static void Dmesg(SimulatedHost host, CommandOutput o)
    {
        foreach (var line in host.KernelLog)
        {
            o.Line(line);
        }
    }

    private static IEnumerable<string> Lines(string content)
    {
        if (content.Length == 0)
        {
            yield break;
        }

        var lines = content.Split('\n');
        var count = content.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++)
        {
            yield return lines[i];
        }
    }

    private static Regex Glob(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
}
