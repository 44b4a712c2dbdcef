using System.Text;

namespace Passthrough.Shell;

/// <summary>
/// The one audited function that turns an argument vector into a POSIX <c>sh</c> command line (used by the SSH runner,
/// whose remote side always runs a shell). Every word is single-quoted, so spaces, quotes, <c>$</c>, backticks,
/// globs and semicolons arrive literally. NUL cannot be carried at all and CR/LF are refused because some
/// remote shells (and dom0's busybox-less CentOS sh under sudo) treat them as command separators in surprising ways.
/// </summary>
public static class ShellQuoting
{
    /// <summary>Quotes one word for POSIX sh: <c>it's</c> becomes <c>'it'\''s'</c>; the empty string becomes <c>''</c>.</summary>
    /// <exception cref="ArgumentException">The value holds NUL, CR or LF.</exception>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        EnsureTransportable(value, "argument");
        if (value.Length > 0 && value.All(IsSafe))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 2);
        builder.Append('\'');
        foreach (var c in value)
        {
            if (c == '\'')
            {
                builder.Append("'\\''");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.Append('\'').ToString();
    }

    /// <summary>Joins a program and its arguments into one sh command line, quoting each word.</summary>
    public static string Join(string program, IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var builder = new StringBuilder(Quote(program));
        foreach (var argument in arguments)
        {
            builder.Append(' ').Append(Quote(argument));
        }

        return builder.ToString();
    }

    /// <summary>Refuses values a command line cannot carry literally.</summary>
    /// <exception cref="ArgumentException">The value holds NUL, CR or LF; the message names <paramref name="what"/> and the position.</exception>
    public static void EnsureTransportable(string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        var index = value.AsSpan().IndexOfAny('\0', '\n', '\r');
        if (index >= 0)
        {
            var name = value[index] switch
            {
                '\0' => "NUL",
                '\n' => "a line feed",
                _ => "a carriage return",
            };
            throw new ArgumentException($"The {what} contains {name} at position {index}; it cannot be passed to a command literally.");
        }
    }

    // Characters that never need quoting in POSIX sh. Everything else is single-quoted.
    private static bool IsSafe(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.' or '/' or ':' or ',' or '+' or '@' or '%';
}
