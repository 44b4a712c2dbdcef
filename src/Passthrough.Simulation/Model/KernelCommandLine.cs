namespace Passthrough.Simulation.Model;

/// <summary>Reads and edits kernel command lines token by token (tokens are separated by spaces, kept as written).</summary>
public static class KernelCommandLine
{
    /// <summary>The value of the first <c>key=value</c> token (everything after the first '='), "" for a bare <c>key</c>, or null when absent.</summary>
    public static string? GetValue(string commandLine, string key)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        foreach (var token in Tokens(commandLine))
        {
            if (KeyOf(token) == key)
            {
                var eq = token.IndexOf('=', StringComparison.Ordinal);
                return eq < 0 ? string.Empty : token[(eq + 1)..];
            }
        }

        return null;
    }

    /// <summary>The whole first token whose key is <paramref name="key"/> (<c>key=value</c> or <c>key</c>), or null.</summary>
    public static string? GetToken(string commandLine, string key) =>
        Tokens(commandLine).FirstOrDefault(t => KeyOf(t) == key);

    /// <summary>Replaces the token with the same key as <paramref name="token"/> in place, or appends it.</summary>
    public static string Set(string commandLine, string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var key = KeyOf(token);
        var tokens = Tokens(commandLine).ToList();
        var index = tokens.FindIndex(t => KeyOf(t) == key);
        if (index < 0)
        {
            tokens.Add(token);
        }
        else
        {
            tokens[index] = token;
            for (var i = tokens.Count - 1; i > index; i--)
            {
                if (KeyOf(tokens[i]) == key)
                {
                    tokens.RemoveAt(i);
                }
            }
        }

        return string.Join(' ', tokens);
    }

    /// <summary>Removes every token with key <paramref name="key"/>.</summary>
    public static string Delete(string commandLine, string key) =>
        string.Join(' ', Tokens(commandLine).Where(t => KeyOf(t) != key));

    /// <summary>The key of a token: the part before the first '='.</summary>
    public static string KeyOf(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var eq = token.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? token : token[..eq];
    }

    private static string[] Tokens(string commandLine) =>
        commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
