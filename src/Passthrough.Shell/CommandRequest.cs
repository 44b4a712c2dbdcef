namespace Passthrough.Shell;

/// <summary>One program invocation: the program, its argument vector, optional standard input and a timeout.</summary>
public sealed record CommandRequest
{
    /// <summary>The default time a command may run: 60 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Creates a request; the program and every argument must be free of NUL and line breaks.</summary>
    /// <exception cref="ArgumentException">The program is empty, or a value holds NUL, CR or LF.</exception>
    public CommandRequest(string program, params IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(arguments);
        if (string.IsNullOrWhiteSpace(program))
        {
            throw new ArgumentException("The program name is empty.", nameof(program));
        }

        ShellQuoting.EnsureTransportable(program, "program name");
        var args = arguments.ToArray();
        for (var i = 0; i < args.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(args[i], $"arguments[{i}]");
            ShellQuoting.EnsureTransportable(args[i], $"argument {i + 1} of {program}");
        }

        Program = program;
        Arguments = args;
    }

    /// <summary>The program to run (a name looked up on PATH, or a path).</summary>
    public string Program { get; }

    /// <summary>The arguments, passed one for one (argv), never through a shell.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Text written to the program's standard input, then closed. Default: none (stdin closed at once).</summary>
    public string? StandardInput { get; init; }

    /// <summary>How long the command may run before it is stopped; default <see cref="DefaultTimeout"/>.</summary>
    public TimeSpan Timeout
    {
        get => _timeout;
        init => _timeout = value > TimeSpan.Zero
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Timeout), value, "A command timeout must be positive.");
    }

    private readonly TimeSpan _timeout = DefaultTimeout;

    /// <summary>The command as a person would type it (each argument quoted); for messages and logs.</summary>
    public string Display => ShellQuoting.Join(Program, Arguments);

    /// <inheritdoc />
    public override string ToString() => Display;
}
