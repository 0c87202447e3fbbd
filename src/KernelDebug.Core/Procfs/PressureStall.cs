using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>
/// Pressure stall information for one resource (<c>/proc/pressure/*</c> or a cgroup's <c>*.pressure</c>):
/// the share of time some (or all) non-idle tasks were stalled waiting for it.
/// </summary>
public sealed record PressureStall
{
    /// <summary>cpu, memory, io or irq.</summary>
    public required string Resource { get; init; }
    /// <summary>The cgroup path below the cgroup2 mount, or null for the whole system.</summary>
    public string? Cgroup { get; init; }
    /// <summary>Percent of the last 10 s in which at least one task was stalled.</summary>
    public double SomeAvg10 { get; init; }
    /// <summary>Percent of the last 60 s, some.</summary>
    public double SomeAvg60 { get; init; }
    /// <summary>Percent of the last 300 s, some.</summary>
    public double SomeAvg300 { get; init; }
    /// <summary>Total time at least one task was stalled.</summary>
    public TimeSpan SomeTotal { get; init; }
    /// <summary>Percent of the last 10 s in which all non-idle tasks were stalled; null when the file has no full line.</summary>
    public double? FullAvg10 { get; init; }
    /// <summary>Percent of the last 60 s, full.</summary>
    public double? FullAvg60 { get; init; }
    /// <summary>Percent of the last 300 s, full.</summary>
    public double? FullAvg300 { get; init; }
    /// <summary>Total time all non-idle tasks were stalled.</summary>
    public TimeSpan? FullTotal { get; init; }
}

/// <summary>Parses a PSI file: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and an optional "full ..." line.</summary>
public static class PressureStallParser
{
    /// <summary>The resources the kernel reports.</summary>
    public static IReadOnlyList<string> Resources { get; } = ["cpu", "memory", "io", "irq"];

    /// <summary>Parses one file's text.</summary>
    public static PressureStall Parse(ReadOnlySpan<char> text, string resource, string? cgroup, ParseContext ctx)
    {
        var r = new PressureStall { Resource = resource, Cgroup = cgroup };
        int n = 0;
        bool some = false;
        foreach (var line in text.EnumerateLines())
        {
            n++;
            if (line.IsWhiteSpace()) continue;
            var f = Fields.Split(line);
            var kind = f.Next();
            if (kind is not ("some" or "full")) { ctx.Warn(n, "expected a 'some' or 'full' line", line); continue; }
            double a10 = 0, a60 = 0, a300 = 0;
            ulong total = 0;
            int seen = 0;
            while (f.MoveNext())
            {
                var kv = f.Current;
                int eq = kv.IndexOf('=');
                if (eq <= 0) { ctx.Warn(n, "expected key=value", kv); continue; }
                var k = kv[..eq]; var v = kv[(eq + 1)..];
                bool ok = k switch
                {
                    "avg10" => Fields.TryDouble(v, out a10),
                    "avg60" => Fields.TryDouble(v, out a60),
                    "avg300" => Fields.TryDouble(v, out a300),
                    "total" => Fields.TryULong(v, out total),
                    _ => true,
                };
                if (!ok) ctx.Warn(n, $"{k.ToString()} is not a number", line);
                else if (k is "avg10" or "avg60" or "avg300" or "total") seen++;
            }
            if (seen < 4) { ctx.Warn(n, "expected avg10, avg60, avg300 and total", line); if (seen == 0) continue; }
            // total is in microseconds.
            TimeSpan? t = Fields.TryMicroseconds(total, out var tt) ? tt : null;
            if (t is null) ctx.Warn(n, "total is past the range of a duration", line);
            if (kind is "some") { some = true; r = r with { SomeAvg10 = a10, SomeAvg60 = a60, SomeAvg300 = a300, SomeTotal = t ?? TimeSpan.Zero }; }
            else r = r with { FullAvg10 = a10, FullAvg60 = a60, FullAvg300 = a300, FullTotal = t };
        }
        if (!some) ctx.Warn(0, "no 'some' line");
        return r;
    }

    /// <summary>
    /// Reads the pressure of <paramref name="resources"/> system-wide or for a cgroup (a path below the cgroup2
    /// mount, or an absolute path into it). A resource the kernel does not report (irq without
    /// CONFIG_IRQ_TIME_ACCOUNTING) is an error only when it was asked for by name.
    /// </summary>
    public static IReadOnlyList<PressureStall> Read(KernelRoot root, IEnumerable<string>? resources, string? cgroup, ParseContext ctx,
        Action<KernelDebugException>? onMissing = null)
    {
        string dir;
        Func<string, string> file;
        string? cgName = null;
        if (cgroup is null)
        {
            dir = "proc/pressure";
            if (!root.DirectoryExists(dir))
                throw new KernelDebugException("PressureStallUnavailable", KernelErrorCategory.NotImplemented,
                    $"{root.Resolve(dir)} does not exist: this kernel does not report pressure stall information.",
                    "Build the kernel with CONFIG_PSI=y; if CONFIG_PSI_DEFAULT_DISABLED=y, boot with psi=1.", root.Resolve(dir));
            file = r => $"{dir}/{r}";
        }
        else
        {
            string mount = MountsParser.FindMountPoints(root, "cgroup2").LastOrDefault()?.TrimStart('/') ?? "sys/fs/cgroup";
            string rel = cgroup.Replace('\\', '/');
            if (rel.StartsWith('/') && rel.TrimStart('/').StartsWith(mount + "/", StringComparison.Ordinal)) rel = rel.TrimStart('/')[(mount.Length + 1)..];
            cgName = "/" + rel.Trim('/');
            dir = rel.Trim('/').Length == 0 ? mount : $"{mount}/{rel.Trim('/')}";
            if (!root.DirectoryExists(dir))
                throw new KernelDebugException("CgroupNotFound", KernelErrorCategory.ObjectNotFound,
                    $"The cgroup '{cgroup}' does not exist ({root.Resolve(dir)}).",
                    "Give a path below the cgroup2 mount, as /proc/<pid>/cgroup shows it (e.g. /system.slice/ssh.service).", cgroup);
            file = r => $"{dir}/{r}.pressure";
        }
        bool named = resources is not null;
        var list = new List<PressureStall>();
        foreach (var res in (resources ?? Resources).Select(r => r.ToLowerInvariant()).Distinct())
        {
            string rel = file(res);
            string? text = root.TryReadText(rel, 1 << 16);
            if (text is null)
            {
                if (named || res != "irq")
                {
                    var e = root.Exists(rel)
                        ? KernelErrors.AccessDenied(root.Resolve(rel), "Run as root: reading pressure files needs no capability, but cgroup delegation may hide them.")
                        : KernelErrors.FileNotFound(root.Resolve(rel), res == "irq" ? "CONFIG_PSI with CONFIG_IRQ_TIME_ACCOUNTING (irq pressure)" : "CONFIG_PSI (psi=1 when CONFIG_PSI_DEFAULT_DISABLED=y)");
                    if (onMissing is null) throw e;
                    onMissing(e);
                }
                continue;
            }
            ctx.Source = root.Resolve(rel);
            list.Add(Parse(text, res, cgName, ctx));
        }
        return list;
    }
}
