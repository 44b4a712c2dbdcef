using System.Globalization;
using Passthrough.Contracts;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// Output of a dom0 tool could not be read. The message names what was being parsed (<see cref="Subject"/>, e.g.
/// "xe record output") and quotes the offending line through <see cref="InputText.Quote"/>, so an operator sees the
/// exact text the host returned. Derives from <see cref="FormatException"/>: callers that already handle malformed
/// input keep working.
/// </summary>
public sealed class XenParseException : FormatException
{
    public XenParseException()
        : base("Output of a dom0 tool could not be parsed.")
    {
    }

    public XenParseException(string message)
        : base(message)
    {
    }

    public XenParseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Builds the message "<paramref name="subject"/>: <paramref name="reason"/> (line N: 'text')".</summary>
    /// <param name="subject">What was being parsed, e.g. "lspci -nn output".</param>
    /// <param name="reason">What is wrong, as a sentence fragment without a final full stop.</param>
    /// <param name="offendingLine">The line at fault, quoted in the message; null when the fault is not one line (e.g. empty output).</param>
    /// <param name="lineNumber">1-based line number within the parsed text; null when unknown.</param>
    /// <param name="innerException">The lower-level parse failure, if any.</param>
    public XenParseException(string subject, string reason, string? offendingLine, int? lineNumber = null, Exception? innerException = null)
        : base(Compose(subject, reason, offendingLine, lineNumber), innerException)
    {
        Subject = subject;
        OffendingLine = offendingLine;
        LineNumber = lineNumber;
    }

    /// <summary>What was being parsed ("xe record output", "xl info output"…); null when built with a plain message.</summary>
    public string? Subject { get; }

    /// <summary>The line at fault, unquoted; null when the fault is not one line.</summary>
    public string? OffendingLine { get; }

    /// <summary>1-based line number of <see cref="OffendingLine"/> in the parsed text; null when unknown.</summary>
    public int? LineNumber { get; }

    private static string Compose(string subject, string reason, string? line, int? lineNumber)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(reason);
        if (line is null)
        {
            return $"{subject}: {reason}.";
        }

        return lineNumber is { } number
            ? string.Create(CultureInfo.InvariantCulture, $"{subject}: {reason} (line {number}: {InputText.Quote(line)}).")
            : $"{subject}: {reason} ({InputText.Quote(line)}).";
    }
}
