using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Symbols;

/// <summary>One system call of an architecture's table.</summary>
/// <param name="Id">The number user space puts in the syscall register (orig_ax on x86-64).</param>
/// <param name="Name">The name without the sys_ prefix, e.g. <c>openat</c>.</param>
/// <param name="Abi">The table's ABI column (common, 64, x32).</param>
/// <param name="EntryPoint">The kernel function, e.g. <c>sys_openat</c>, or null.</param>
public sealed record SyscallInfo(int Id, string Name, string Abi, string? EntryPoint);

/// <summary>An architecture's system call numbers, both ways.</summary>
public sealed class SyscallTable
{
    private readonly Dictionary<int, SyscallInfo> _byId = new();
    private readonly Dictionary<string, SyscallInfo> _byName = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Builds a table from entries; the first entry for an id or a name wins.</summary>
    public SyscallTable(string architecture, IEnumerable<SyscallInfo> entries)
    {
        Architecture = architecture;
        foreach (var e in entries)
        {
            _byId.TryAdd(e.Id, e);
            _byName.TryAdd(e.Name, e);
        }
        All = _byId.Values.OrderBy(e => e.Id).ToArray();
    }

    /// <summary>The architecture, e.g. x86_64.</summary>
    public string Architecture { get; }

    /// <summary>Every entry by number.</summary>
    public IReadOnlyList<SyscallInfo> All { get; }

    /// <summary>The entry for a number, or null.</summary>
    public SyscallInfo? this[int id] => _byId.GetValueOrDefault(id);

    /// <summary>The entry for a name (case-insensitive, with or without sys_), or null.</summary>
    public SyscallInfo? Find(string name) =>
        _byName.GetValueOrDefault(name) ?? (name.StartsWith("sys_", StringComparison.OrdinalIgnoreCase) ? _byName.GetValueOrDefault(name[4..]) : null);

    /// <summary>The name for a number, or <c>syscall_N</c> when the table does not know it.</summary>
    public string NameOf(int id) => _byId.TryGetValue(id, out var e) ? e.Name : $"syscall_{id}";

    /// <summary>
    /// The syscall numbers that name patterns select (the caller supplies the matcher, e.g. PowerShell wildcards).
    /// </summary>
    /// <exception cref="Errors.KernelDebugException">UnknownSyscall: a pattern matches no system call of this table.</exception>
    public IReadOnlyCollection<int> Resolve(IEnumerable<(string Text, Func<string, bool> Matches)> patterns)
    {
        var ids = new HashSet<int>();
        foreach (var (text, matches) in patterns)
        {
            var found = All.Where(e => matches(e.Name)).ToList();
            if (found.Count == 0)
                throw new Errors.KernelDebugException("UnknownSyscall", Errors.KernelErrorCategory.InvalidArgument,
                    $"'{text}' matches no system call of {Architecture}.", "Use tab completion on -Syscall to list the names.", text);
            foreach (var e in found) ids.Add(e.Id);
        }
        return ids;
    }

    private static readonly Lazy<SyscallTable> X64 = new(() =>
    {
        using var s = typeof(SyscallTable).Assembly.GetManifestResourceStream("KernelDebug.Symbols.syscall_64.tbl")
            ?? throw new InvalidOperationException("syscall_64.tbl resource missing");
        using var reader = new StreamReader(s);
        return SyscallTableParser.Parse(reader, new ParseContext("syscall_64.tbl"), "x86_64");
    });

    /// <summary>The x86-64 table compiled into the module (the kernel's syscall_64.tbl numbers).</summary>
    public static SyscallTable X86_64 => X64.Value;
}

/// <summary>Parses the kernel's <c>arch/*/entry/syscalls/syscall_*.tbl</c> format: <c>number abi name [entry]</c>.</summary>
public static class SyscallTableParser
{
    /// <summary>Parses a table; comments and blank lines are skipped, malformed lines become warnings.</summary>
    public static SyscallTable Parse(TextReader reader, ParseContext ctx, string architecture)
    {
        var entries = new List<SyscallInfo>();
        int lineNo = 0;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNo++;
            var span = line.AsSpan().Trim();
            if (span.IsEmpty || span[0] == '#') continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 3 || !int.TryParse(parts[0], out int id) || id < 0 || !IsName(parts[2]))
            {
                ctx.Warn(lineNo, "expected '<number> <abi> <name> [entry point]'", line);
                continue;
            }
            entries.Add(new SyscallInfo(id, parts[2], parts[1], parts.Length > 3 ? parts[3] : null));
        }
        return new SyscallTable(architecture, entries);
    }

    private static bool IsName(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
