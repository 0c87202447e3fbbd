using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Profiling;
using KernelDebug.Core.Symbols;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

/// <summary>
/// Every text parser of Core, on its real inputs (fixtures, and this machine's files where it has them), with each
/// numeric token rewritten to huge, negative, boundary and non-numeric values: parsing never throws, and where the
/// output changed without holding the new value (it was rejected), a warning says so.
/// </summary>
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    /// <summary>A parser under test: its name, its inputs, and a call that parses one input and returns everything it produced.</summary>
    public sealed record Case(string Name, Func<IEnumerable<(string Source, string Text)>> Inputs, Func<string, ParseContext, object?> Parse);

    private static (string, string) Fixture(params string[] parts) =>
        (string.Join('/', parts), File.ReadAllText(TestPaths.Fixture(parts)));

    private static IEnumerable<(string, string)> Live(params string[] paths)
    {
        foreach (var p in paths)
        {
            string? text = null;
            try { if (File.Exists(p)) text = File.ReadAllText(p); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            if (!string.IsNullOrEmpty(text)) yield return (p, text.Length > 64 * 1024 ? text[..text.LastIndexOf('\n', 64 * 1024)] : text);
        }
    }

    private static IEnumerable<(string, string)> Files(string dir, Func<string, bool>? where = null) =>
        Directory.EnumerateFiles(TestPaths.Fixture(dir.Split('/')), "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("README.md") && !f.EndsWith(".gz") && !f.EndsWith(".raw") && (where?.Invoke(f) ?? true))
            .OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(TestPaths.Fixtures, f), File.ReadAllText(f)));

    private static IEnumerable<(string, string)> Inline(string name, string text) => [(name, text)];

    private static readonly DateTimeOffset Boot = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string TracingEvents = "tracing/live-6.18/sys/kernel/tracing/events";

    /// <summary>The parsers, each with every input it has here.</summary>
    public static readonly Case[] Cases =
    [
        new("meminfo", () => [Fixture("memory", "slab", "proc", "meminfo"), Fixture("inventory", "db1", "proc", "meminfo"), .. Live("/proc/meminfo", "/sys/devices/system/node/node0/meminfo")],
            (t, c) => MemInfoParser.Parse(t, c)),
        new("vmstat", () => Live("/proc/vmstat"), (t, c) => { var d = VmStatParser.Parse(t, c); var v = VmStat.From(d, Boot); return (d, v, VmStatRate.Between(v, v with { Timestamp = Boot.AddSeconds(1) })); }),
        new("slabinfo", () => [Fixture("memory", "slab", "proc", "slabinfo"), .. Live("/proc/slabinfo")],
            (t, c) => { var s = SlabInfoParser.Parse(t, 4096, c, Boot); return (s, SlabSummary.From(s, 1, 2, Boot), SlabCacheGrowth.Between(s, s)); }),
        new("buddyinfo", () => Live("/proc/buddyinfo"),
            (t, c) => BuddyInfoParser.Parse(t, c).Select(z => (z, Enumerable.Range(0, 11).Select(o => MemoryFragmentation.From(z, o, 4096)).ToList())).ToList()),
        new("stat", () => [Fixture("inventory", "web1", "proc", "stat"), Fixture("inventory", "db1", "proc", "stat"), Fixture("kmsg", "snapshot", "proc", "stat"), .. Live("/proc/stat")],
            (t, c) =>
            {
                var s = ProcStatParser.Parse(t, c);
                return (s, CpuStatCalculator.SinceBoot(s, true).ToList(), CpuStatCalculator.Between(s, s, TimeSpan.FromSeconds(1), Boot, true).ToList());
            }),
        new("loadavg", () => [Fixture("inventory", "db1", "proc", "loadavg"), .. Live("/proc/loadavg")], (t, c) => LoadAverageParser.Parse(t, c, 4)),
        new("pressure", () => [.. Files("inventory/db1/proc/pressure"), .. Live("/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io")],
            (t, c) => PressureStallParser.Parse(t, "memory", null, c)),
        new("mounts", () => [Fixture("inventory", "db1", "proc", "mounts"), .. Live("/proc/mounts")], (t, c) => MountsParser.Parse(t, c)),
        new("pid-stat", () => Live("/proc/self/stat", "/proc/1/stat", "/proc/self/task/" + Environment.CurrentManagedThreadId + "/stat"), (t, c) => PidStatParser.Parse(t, c)),
        new("pid-sched", () => Live("/proc/self/sched", "/proc/1/sched"), (t, c) => (PidSchedParser.ExecStartMilliseconds(t, c), PidCgroupParser.Parse(t))),
        new("pid-stack", () => [.. Live("/proc/1/stack", "/proc/self/stack"), .. Inline("stack", "[<0>] do_wait+0x1e0/0x2e0\n[<0>] kernel_wait4+0xb0/0x160 [mod]\n")],
            (t, c) => PidStackParser.Parse(t, c)),
        new("lock_stat", () => [Fixture("memory", "lockdep", "proc", "lock_stat")], (t, c) => LockStatParser.Parse(t, c)),
        new("lockdep", () => [Fixture("memory", "lockdep", "proc", "lockdep")], (t, c) => LockdepParser.ParseClasses(t, c)),
        new("lockdep_stats", () => [Fixture("memory", "lockdep", "proc", "lockdep_stats")], (t, c) => LockdepParser.ParseStatistics(t, c)),
        new("cpu-list", () => [Fixture("inventory", "web1", "sys", "devices", "system", "cpu", "online"), .. Live("/sys/devices/system/cpu/online", "/sys/devices/system/cpu/possible"),
                .. Inline("ranges", "0-3,8,10-11\n")],
            (t, c) => CpuList.Parse(t, c)),
        new("cmdline", () => [Fixture("inventory", "web1", "proc", "cmdline"), Fixture("inventory", "db1", "proc", "cmdline"), .. Live("/proc/cmdline")],
            (t, c) => KernelCommandLineParser.Parse(t)),
        new("kernel-config", () => Files("inventory/db1/boot"), (t, c) => KernelConfigParser.Parse(new StringReader(t), c)),
        new("kallsyms", () => [Fixture("symbols", "small", "proc", "kallsyms"), Fixture("symbols", "kptr-hidden", "proc", "kallsyms")],
            (t, c) =>
            {
                var syms = KallsymsParser.Parse(new StringReader(t), c);
                var table = KernelSymbolTable.FromSymbols(syms);
                return (syms, syms.Take(20).Select(s => table.Resolve(s.Address + 1)).ToList());
            }),
        new("syscall-table", () => [Fixture("bpf", "syscall_64.tbl")], (t, c) => SyscallTableParser.Parse(new StringReader(t), c, "x86_64")),
        new("proc-maps", () => Live("/proc/self/maps"), (t, c) => KernelCpuProfiler.ParseMaps(t, c)),
        new("kernel-log", () => [.. Files("kmsg", f => !f.Contains("/snapshot/")), .. Files("oops"), Fixture("memory", "mce", "dmesg.txt")],
            (t, c) => KernelLogParser.Parse(new StringReader(t), c, "fuzz", bootTime: Boot, referenceTime: Boot).ToList()),
        new("kmsg-records", () => [Fixture("kmsg", "kmsg-raw.txt"), Fixture("kmsg", "snapshot", "dev", "kmsg"), Fixture("memory", "mce", "dev", "kmsg")],
            (t, c) => KernelLogParser.Parse(new StringReader(t), c, "fuzz", KernelLogFormat.Kmsg, Boot).ToList()),
        new("console-prefix", () => [Fixture("kmsg", "dmesg.txt"), Fixture("kmsg", "console-caller.log"), Fixture("kmsg", "pstore", "dmesg-ramoops-0")],
            (t, c) => t.Split('\n').Select(l => { var p = ConsolePrefix.Parse(l); return (p, Text: l[p.TextStart..]); }).ToList()),
        new("oops", () => [.. Files("oops"), Fixture("kmsg", "dmesg.txt"), Fixture("kmsg", "vmcore-dmesg.txt")],
            (t, c) => KernelOopsParser.Parse(ConsoleText.Split(t, "fuzz"), c).ToList()),
        new("oom", () => [Fixture("kmsg", "oom-global.txt"), Fixture("kmsg", "oom-memcg.txt")],
            (t, c) => OomEventParser.Parse(ConsoleText.Split(t, "fuzz"), c).ToList()),
        new("machine-check", () => [Fixture("memory", "mce", "dmesg.txt")], (t, c) => MachineCheckParser.Parse(t, c)),
        new("pstore-header", () => Files("kmsg/pstore"),
            (t, c) => t.Split('\n').Select(l => PstoreHeader.TryParse(l, out var h) ? (object?)h : l).ToList()),
        new("event-format", () => Files(TracingEvents, f => f.EndsWith("/format")), (t, c) => TraceEventFormatParser.Parse(t, "fuzz", c)),
        new("header-page", () => Files(TracingEvents, f => f.EndsWith("/header_page")),
            (t, c) => RingBufferLayout.Parse(t, File.ReadAllText(TestPaths.Fixture([.. TracingEvents.Split('/'), "header_event"])), c)),
        new("header-event", () => Files(TracingEvents, f => f.EndsWith("/header_event")),
            (t, c) => RingBufferLayout.Parse(File.ReadAllText(TestPaths.Fixture([.. TracingEvents.Split('/'), "header_page"])), t, c)),
        new("trace-pipe", () => [Fixture("tracing", "live-6.18", "trace.txt")],
            (t, c) => t.Split('\n').Select((string l, int i) => (object?)TracePipeTextParser.ParseLine(l.AsSpan(), i + 1, c)).ToList()),
        new("saved-cmdlines", () => [.. Live("/sys/kernel/tracing/saved_cmdlines"), .. Inline("saved_cmdlines", "1 systemd\n317 kworker/0:2\n4242 bash\n")],
            (t, c) => SavedCmdlinesParser.Parse(t, c)),
        // The per-CPU stats file as Linux 6.18 writes it (read from this VM's tracefs).
        new("buffer-stats", () => [.. Live("/sys/kernel/tracing/per_cpu/cpu0/stats"), .. Inline("stats",
                "entries: 12\noverrun: 0\ncommit overrun: 0\nbytes: 1408\noldest event ts:  5207.393856\nnow ts:  5210.146040\ndropped events: 0\nread events: 4\n")],
            (t, c) => TraceBufferStats.Parse(0, t, c)),
        new("folded-stacks", () => Inline("folded", "swapper;start_kernel;cpu_idle 120\nbash;do_syscall_64;ksys_read 7\nx;y 18446744073709551615\n"),
            (t, c) => FoldedStackParser.Merge(FoldedStackParser.Parse(new StringReader(t), c))),
    ];

    /// <summary>Case names for the theory.</summary>
    public static TheoryData<string> CaseNames => new(Cases.Select(c => c.Name));

    private static readonly JsonSerializerOptions Json = new()
    {
        ReferenceHandler = ReferenceHandler.IgnoreCycles,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        IncludeFields = true,
        MaxDepth = 64,
    };

    /// <summary>Everything the parser produced, as text, to see whether a mutation changed it (reads every property, as a format view does).</summary>
    internal static string Render(object? result)
    {
        try { return JsonSerializer.Serialize(result, Json); }
        catch (NotSupportedException) { return result?.ToString() ?? ""; }
    }

    /// <summary>Parses the original and every mutation of it; returns the failures and the number of mutated inputs run.</summary>
    internal static (List<string> Failures, int Runs) Run(Case c, string source, string text, int maxTokens = 60)
    {
        var failures = new List<string>();
        var baseCtx = new ParseContext(source);
        string baseline = Render(c.Parse(text, baseCtx));
        int baseIssues = baseCtx.Issues.Count;
        int runs = 0;
        foreach (var m in NumberMutations.Of(text, StableSeed(source), maxTokens))
        {
            runs++;
            var ctx = new ParseContext(source);
            string output;
            try { output = Render(c.Parse(m.Text, ctx)); }
            catch (Exception e)
            {
                failures.Add($"{c.Name} {source} {m}: {e.GetType().Name}: {e.Message} at {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
                continue;
            }
            if (m.MustBeRejected && ctx.Issues.Count <= baseIssues && output != baseline && !Holds(output, m.Replacement))
                failures.Add($"{c.Name} {source} {m}: the value was dropped or changed without a warning");
            foreach (var i in ctx.Issues.Skip(baseIssues))
                if (i.Source != source) failures.Add($"{c.Name} {source} {m}: issue names '{i.Source}', not the file");
        }
        return (failures, runs);
    }

    /// <summary>Whether the output kept the value: as written, or as the double it reads as (a huge integer is a fine load average).</summary>
    private static bool Holds(string output, string value) =>
        output.Contains(value, StringComparison.Ordinal) ||
        (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d)
         && output.Contains(d.ToString("R", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

    private static int StableSeed(string s)
    {
        int h = 17;
        foreach (char ch in s) h = unchecked(h * 31 + ch);
        return h & 0x7FFFFFFF;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MutatedNumbers_WarnAndNeverThrow(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        var inputs = c.Inputs().ToList();
        Assert.NotEmpty(inputs);
        var failures = new List<string>();
        int runs = 0;
        foreach (var (source, text) in inputs)
        {
            var (f, n) = Run(c, source, text);
            failures.AddRange(f);
            runs += n;
        }
        output.WriteLine($"{name}: {inputs.Count} inputs, {runs} mutations");
        Assert.True(runs > 0, $"{name}: no numeric token in {inputs.Count} inputs");
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} of {runs} mutations failed:\n" + string.Join('\n', failures.Take(25)));
    }

    [Fact]
    public void EveryCase_HasInputsWithNumbers()
    {
        foreach (var c in Cases)
            Assert.True(c.Inputs().Sum(i => NumberMutations.CountTokens(i.Text)) > 0, $"{c.Name}: no numbers to mutate");
    }

    [Fact]
    public void Mutations_AreDeterministicAndCoverEveryKind()
    {
        string text = "MemTotal: 16318480 kB\ncpu0 1 2 3\nat 0x1f/0x30 [    1.234567]\n";
        var a = NumberMutations.Of(text, 5).ToList();
        var b = NumberMutations.Of(text, 5).ToList();
        Assert.Equal(a.Select(x => x.Text), b.Select(x => x.Text));
        Assert.Equal(7 * 4, a.Count); // 16318480, 1, 2, 3, 0x1f, 0x30, 1.234567: cpu0 is a name
        Assert.Contains(a, m => NumberMutations.Huge.Contains(m.Replacement));
        Assert.Contains(a, m => NumberMutations.Negative.Contains(m.Replacement));
        Assert.Contains(a, m => NumberMutations.NonNumeric.Contains(m.Replacement));
        Assert.Contains(a, m => NumberMutations.Boundary.Contains(m.Replacement));
        Assert.All(a, m => Assert.Contains("cpu0", m.Text));
    }

    [Fact]
    public void Checker_CatchesASilentlyDroppedValue()
    {
        // A parser that turns a bad number into 0 without a word must fail the check.
        var silent = new Case("silent", () => [], (t, _) => t.Split(' ').Select(w => long.TryParse(w, out long v) ? v : 0).ToList());
        var (failures, runs) = Run(silent, "x", "1 2 3");
        Assert.Equal(12, runs);
        Assert.Contains(failures, f => f.Contains("without a warning"));
        var throwing = new Case("throwing", () => [], (t, _) => t.Split(' ').Select(w => checked((int)ulong.Parse(w))).ToList());
        Assert.Contains(Run(throwing, "x", "1 2 3").Failures, f => f.Contains("OverflowException") || f.Contains("FormatException"));
    }
}
