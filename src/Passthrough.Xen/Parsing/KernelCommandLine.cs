using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>One parameter of a kernel command line: <c>name</c> or <c>name=value</c> (value with its quotes removed).</summary>
/// <param name="Name">The name, e.g. <c>xen-pciback.hide</c>.</param>
/// <param name="Value">The value; null when the parameter has no <c>=</c>.</param>
public sealed record KernelParameter(string Name, string? Value);

/// <summary>
/// A Linux kernel command line (dom0's <c>/proc/cmdline</c>): what the running kernel actually booted with, to compare
/// with the next-boot line xen-cmdline edits. Tokenised as the kernel does (<c>next_arg</c>): parameters are separated
/// by whitespace outside double quotes; a value in double quotes loses them; an unterminated quote runs to the end.
/// Names match with <c>-</c> and <c>_</c> equivalent (<c>xen_pciback.hide</c> is <c>xen-pciback.hide</c>), as the kernel's
/// <c>parameq</c> does; when a parameter repeats, the last one wins (each occurrence overrides the previous).
/// </summary>
public sealed class KernelCommandLine
{
    private KernelCommandLine(IReadOnlyList<KernelParameter> parameters) => Parameters = parameters;

    /// <summary>The parameters in order.</summary>
    public IReadOnlyList<KernelParameter> Parameters { get; }

    /// <summary>Tokenises a command line (a final line break is ignored). Never fails: the kernel accepts any text.</summary>
    public static KernelCommandLine Parse(string text)
    {
        var line = OutputText.StripFinalNewline(text);
        var parameters = new List<KernelParameter>();
        var position = 0;
        while (position < line.Length)
        {
            if (char.IsWhiteSpace(line[position]))
            {
                position++;
                continue;
            }

            // Mirrors the kernel's next_arg(): a leading quote is skipped and quoting toggles on every '"'; the first '='
            // (not at the start) splits name from value; a value opening with '"' loses it and the token's final '"'.
            var quoted = line[position] == '"';
            var start = quoted ? position + 1 : position;
            var inQuote = quoted;
            var equals = -1;
            var i = start;
            for (; i < line.Length; i++)
            {
                if (char.IsWhiteSpace(line[i]) && !inQuote)
                {
                    break;
                }

                if (equals < 0 && line[i] == '=' && i > start)
                {
                    equals = i;
                }

                if (line[i] == '"')
                {
                    inQuote = !inQuote;
                }
            }

            var endsWithQuote = i > start && line[i - 1] == '"';
            var valueQuoted = equals >= 0 && equals + 1 < i && line[equals + 1] == '"';
            var end = endsWithQuote && (quoted || valueQuoted) ? i - 1 : i;
            if (equals < 0)
            {
                parameters.Add(new KernelParameter(line[start..Math.Max(start, end)], null));
            }
            else
            {
                var valueStart = valueQuoted ? equals + 2 : equals + 1;
                parameters.Add(new KernelParameter(line[start..equals], line[valueStart..Math.Max(valueStart, end)]));
            }

            position = i;
        }

        return new KernelCommandLine(parameters.AsReadOnly());
    }

    /// <summary>The value of the last parameter named <paramref name="name"/>; null when absent or without a value.</summary>
    public string? GetValue(string name) => Parameters.LastOrDefault(p => NamesEqual(p.Name, name))?.Value;

    /// <summary>True when a parameter named <paramref name="name"/> is present (with or without a value).</summary>
    public bool Contains(string name) => Parameters.Any(p => NamesEqual(p.Name, name));

    /// <summary>
    /// The hide list the running kernel booted with (<c>xen-pciback.hide=</c>); <see cref="Dom0HideList.Empty"/> in its
    /// parse when the parameter is absent. The value is read with <see cref="Dom0HideList.Parse"/> (short forms accepted
    /// and reported as needing normalisation).
    /// </summary>
    /// <exception cref="XenParseException">The booted value is not a hide list.</exception>
    public Dom0HideListParse GetHideList()
    {
        var value = GetValue(Dom0HideList.ParameterName);
        if (value is null)
        {
            return new Dom0HideListParse(string.Empty, Dom0HideList.Empty, []);
        }

        return Dom0HideList.TryParse(value, out var parse, out var error)
            ? parse
            : throw new XenParseException("/proc/cmdline xen-pciback.hide", error, value);
    }

    private static bool NamesEqual(string a, string b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            var x = a[i] == '_' ? '-' : a[i];
            var y = b[i] == '_' ? '-' : b[i];
            if (x != y)
            {
                return false;
            }
        }

        return true;
    }
}
