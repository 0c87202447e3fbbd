namespace KernelDebug.Core.Inventory;

/// <summary>One parameter of the kernel command line: <c>name</c> or <c>name=value</c>.</summary>
public sealed record KernelParameter(string Name, string? Value)
{
    /// <inheritdoc />
    public override string ToString() => Value is null ? Name : $"{Name}={Value}";
}

/// <summary>Parses <c>/proc/cmdline</c> the way the kernel does: blanks separate, double quotes group, and everything after a lone <c>--</c> goes to init.</summary>
public static class KernelCommandLineParser
{
    /// <summary>Splits a command line into parameters. Parameters after <c>--</c> are init's and are not returned.</summary>
    public static IReadOnlyList<KernelParameter> Parse(ReadOnlySpan<char> text)
    {
        var result = new List<KernelParameter>();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length) break;
            var sb = new System.Text.StringBuilder();
            bool quoted = false;
            while (i < text.Length && (quoted || !char.IsWhiteSpace(text[i])))
            {
                if (text[i] == '"') quoted = !quoted; else sb.Append(text[i]);
                i++;
            }
            string token = sb.ToString();
            if (token == "--") break;
            int eq = token.IndexOf('=');
            result.Add(eq < 0 ? new KernelParameter(token, null) : new KernelParameter(token[..eq], token[(eq + 1)..]));
        }
        return result;
    }
}
