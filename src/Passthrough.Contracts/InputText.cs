using System.Text;

namespace Passthrough.Contracts;

/// <summary>Shows untrusted input inside an error message: quoted, control characters escaped, long values cut.</summary>
public static class InputText
{
    /// <summary>The longest part of an input an error message repeats.</summary>
    public const int MaxShown = 64;

    /// <summary>Returns <paramref name="value"/> in single quotes, with control characters as <c>\n</c>, <c>\x00</c>…, cut after <see cref="MaxShown"/> characters.</summary>
    public static string Quote(string? value)
    {
        if (value is null)
        {
            return "(null)";
        }

        var builder = new StringBuilder(Math.Min(value.Length, MaxShown) + 16);
        builder.Append('\'');
        var shown = Math.Min(value.Length, MaxShown);
        for (var i = 0; i < shown; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\'': builder.Append("\\'"); break;
                case '\\': builder.Append("\\\\"); break;
                default:
                    if (char.IsControl(c))
                    {
                        builder.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        builder.Append('\'');
        if (value.Length > shown)
        {
            builder.Append("… (").Append(value.Length).Append(" characters)");
        }

        return builder.ToString();
    }
}
