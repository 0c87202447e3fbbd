using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Inventory;

/// <summary>What kind of value a kernel configuration option has.</summary>
public enum KernelConfigKind
{
    /// <summary>Built in (<c>=y</c>).</summary>
    BuiltIn,
    /// <summary>Built as a module (<c>=m</c>).</summary>
    Module,
    /// <summary>Explicitly off (<c># CONFIG_X is not set</c>).</summary>
    NotSet,
    /// <summary>A quoted string.</summary>
    String,
    /// <summary>A decimal or hexadecimal number.</summary>
    Number,
}

/// <summary>One option of the kernel's build configuration.</summary>
/// <param name="Name">The option, with its <c>CONFIG_</c> prefix.</param>
/// <param name="Value">"y", "m", "n" (not set), the unquoted string, or the number as written.</param>
/// <param name="Kind">What the value is.</param>
/// <param name="Number">The value as a number when <paramref name="Kind"/> is Number.</param>
public sealed record KernelConfigOption(string Name, string Value, KernelConfigKind Kind, long? Number)
{
    /// <summary>True for built-in or module (<c>y</c>/<c>m</c>).</summary>
    public bool Enabled => Kind is KernelConfigKind.BuiltIn or KernelConfigKind.Module;
}

/// <summary>Parses a kernel <c>.config</c> (the text of <c>/proc/config.gz</c> or <c>/boot/config-*</c>).</summary>
public static class KernelConfigParser
{
    private const string NotSetSuffix = " is not set";

    /// <summary>Returns the options in file order; lines that are neither options nor comments go to <paramref name="ctx"/>.</summary>
    public static IReadOnlyList<KernelConfigOption> Parse(TextReader reader, ParseContext ctx)
    {
        var result = new List<KernelConfigOption>();
        int n = 0;
        string? raw;
        while ((raw = reader.ReadLine()) is not null)
        {
            n++;
            var line = raw.AsSpan().Trim();
            if (line.IsEmpty) continue;
            if (line[0] == '#')
            {
                // "# CONFIG_X is not set"; any other comment is a section header.
                var body = line[1..].Trim();
                if (body.StartsWith("CONFIG_") && body.EndsWith(NotSetSuffix))
                {
                    var name = body[..^NotSetSuffix.Length].Trim();
                    if (IsName(name)) result.Add(new KernelConfigOption(name.ToString(), "n", KernelConfigKind.NotSet, null));
                    else ctx.Warn(n, "not a configuration option name", line);
                }
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq <= 0 || !line.StartsWith("CONFIG_") || !IsName(line[..eq]))
            {
                ctx.Warn(n, "expected CONFIG_NAME=value", line);
                continue;
            }
            string nm = line[..eq].ToString();
            var value = line[(eq + 1)..];
            if (value is "y") result.Add(new(nm, "y", KernelConfigKind.BuiltIn, null));
            else if (value is "m") result.Add(new(nm, "m", KernelConfigKind.Module, null));
            else if (value is "n") result.Add(new(nm, "n", KernelConfigKind.NotSet, null));
            else if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                result.Add(new(nm, Unquote(value[1..^1]), KernelConfigKind.String, null));
            else if (Fields.TryLong(value, out long dec)) result.Add(new(nm, value.ToString(), KernelConfigKind.Number, dec));
            else if (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && Fields.TryHex(value, out ulong hex))
                result.Add(new(nm, value.ToString(), KernelConfigKind.Number, unchecked((long)hex)));
            else ctx.Warn(n, "value is not y, m, a quoted string or a number", line);
        }
        return result;
    }

    private static bool IsName(ReadOnlySpan<char> s)
    {
        if (s.Length <= 7) return false;
        foreach (char c in s)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_')) return false;
        return true;
    }

    private static string Unquote(ReadOnlySpan<char> s)
    {
        if (s.IndexOf('\\') < 0) return s.ToString();
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length) i++;
            sb.Append(s[i]);
        }
        return sb.ToString();
    }
}

/// <summary>A kernel's build configuration, looked up by option name.</summary>
public sealed class KernelConfig
{
    private readonly Dictionary<string, KernelConfigOption> _byName;

    /// <summary>Creates a configuration from parsed options.</summary>
    public KernelConfig(IReadOnlyList<KernelConfigOption> options, string source)
    {
        Options = options;
        Source = source;
        _byName = new Dictionary<string, KernelConfigOption>(StringComparer.Ordinal);
        foreach (var o in options) _byName[o.Name] = o;
    }

    /// <summary>Every option in file order.</summary>
    public IReadOnlyList<KernelConfigOption> Options { get; }

    /// <summary>The file the configuration came from.</summary>
    public string Source { get; }

    /// <summary>An option by name (with or without <c>CONFIG_</c>), or null when the file does not mention it.</summary>
    public KernelConfigOption? this[string name] =>
        _byName.TryGetValue(name.StartsWith("CONFIG_", StringComparison.Ordinal) ? name : "CONFIG_" + name, out var o) ? o : null;

    /// <summary>True when the option is <c>y</c> or <c>m</c>; options the file does not mention are off.</summary>
    public bool IsEnabled(string name) => this[name]?.Enabled == true;

    /// <summary>"CONFIG_X=y", "CONFIG_X is not set": the option as evidence in a message.</summary>
    public string Describe(string name)
    {
        string full = name.StartsWith("CONFIG_", StringComparison.Ordinal) ? name : "CONFIG_" + name;
        return this[full] is { } o && o.Kind != KernelConfigKind.NotSet ? $"{full}={o.Value}" : $"{full} is not set";
    }
}

/// <summary>Finds and reads the running (or captured) kernel's configuration.</summary>
public static class KernelConfigReader
{
    /// <summary>The remedy when no configuration is available.</summary>
    public const string MissingRemedy =
        "Build the kernel with CONFIG_IKCONFIG=y and CONFIG_IKCONFIG_PROC=y (or load the 'configs' module: modprobe configs), " +
        "or install the distribution's config file as /boot/config-<release>.";

    /// <summary>The path (below the root) of the configuration: <c>proc/config.gz</c>, else <c>boot/config-&lt;release&gt;</c>; null when neither exists.</summary>
    public static string? Locate(KernelRoot root)
    {
        if (root.Exists("proc/config.gz")) return "proc/config.gz";
        string? release = root.TryReadValue("proc/sys/kernel/osrelease");
        if (release is null && root.TryReadValue("proc/version") is { } v) release = KernelInfoReader.ParseReleaseFromVersion(v);
        if (release is not null && root.Exists("boot/config-" + release)) return "boot/config-" + release;
        return null;
    }

    /// <summary>Reads the configuration.</summary>
    /// <exception cref="KernelDebugException">Neither <c>/proc/config.gz</c> nor <c>/boot/config-&lt;release&gt;</c> exists (ErrorId KernelConfigNotFound).</exception>
    public static KernelConfig Read(KernelRoot root, ParseContext ctx)
    {
        string rel = Locate(root) ?? throw new KernelDebugException("KernelConfigNotFound", KernelErrorCategory.ObjectNotFound,
            $"Neither {root.Resolve("proc/config.gz")} nor {root.Resolve("boot/config-<release>")} exists, so the kernel's build configuration is unknown.",
            MissingRemedy, root.Resolve("proc/config.gz"));
        ctx.Source = root.Resolve(rel);
        using var reader = root.OpenText(rel, "CONFIG_IKCONFIG_PROC (/proc/config.gz) or the distribution kernel package (/boot/config-*)");
        return new KernelConfig(KernelConfigParser.Parse(reader, ctx), ctx.Source);
    }

    /// <summary>Reads the configuration, or returns null when the root has none (parse issues are dropped).</summary>
    public static KernelConfig? TryRead(KernelRoot root)
    {
        try { return Locate(root) is null ? null : Read(root, new ParseContext("config")); }
        catch (KernelDebugException) { return null; }
        catch (IOException) { return null; }
        catch (InvalidDataException) { return null; }
    }
}
