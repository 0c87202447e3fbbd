using KernelDebug.Core.Errors;
using KernelDebug.Core.Procfs;

namespace KernelDebug.Core.Inventory;

/// <summary>One kernel debugging facility and whether this kernel offers it.</summary>
public sealed record DebugCapability
{
    /// <summary>The facility, e.g. <c>Btf</c>, <c>Kprobes</c>, <c>Tracepoint.sched</c> (<see cref="DebugCapabilities.Names"/>).</summary>
    public required string Name { get; init; }
    /// <summary>Whether it can be used now.</summary>
    public bool Available { get; init; }
    /// <summary>What was found (a path, a setting, the configuration evidence).</summary>
    public string? Detail { get; init; }
    /// <summary>Why it is not available; null when it is.</summary>
    public string? Reason { get; init; }
    /// <summary>What makes it available: the mount command, sysctl, capability or CONFIG_ option.</summary>
    public string? Remedy { get; init; }
    /// <summary>The kind of error <see cref="DebugCapabilities.Require"/> raises for it.</summary>
    internal KernelErrorCategory FailureCategory { get; init; } = KernelErrorCategory.NotImplemented;
}

/// <summary>
/// Probes which debugging facilities a kernel offers, from its files and build configuration, without changing
/// any kernel state. Cmdlets check their preconditions with <see cref="Require"/>, so the error a user sees names
/// the same reason and remedy that <c>Get-KernelDebugCapability</c> prints.
/// </summary>
public sealed class DebugCapabilities
{
    /// <summary>The tracepoint families this module's tools use, each probed as <c>Tracepoint.&lt;family&gt;</c>.</summary>
    public static IReadOnlyList<string> TracepointFamilies { get; } = ["raw_syscalls", "sched", "block", "kmem", "lock"];

    private static readonly (string Name, Func<DebugCapabilities, DebugCapability> Probe)[] Probes = BuildProbes();

    /// <summary>Every facility name, in report order.</summary>
    public static IReadOnlyList<string> Names { get; } = Probes.Select(p => p.Name).ToArray();

    private readonly Lazy<KernelConfig?> _config;
    private readonly Lazy<IReadOnlyList<MountEntry>> _mounts;
    private readonly Lazy<SnapshotManifest?> _manifest;
    private readonly Lazy<(string? Mode, string? Source)> _lockdown;
    private readonly Lazy<string?> _ftraceRefusal;
    private readonly Lazy<string?> _traceFs;

    /// <summary>Creates a prober for a root (live or snapshot).</summary>
    public DebugCapabilities(KernelRoot root)
    {
        Root = root;
        _config = new(() => KernelConfigReader.TryRead(root));
        _mounts = new(() =>
        {
            string? text = root.TryReadText("proc/mounts", 4 << 20) ?? root.TryReadText("proc/self/mounts", 4 << 20);
            return text is null ? [] : MountsParser.Parse(text, new Parsing.ParseContext("/proc/mounts"));
        });
        _manifest = new(() => root.IsLive ? null : SnapshotManifest.TryRead(root));
        _lockdown = new(() => KernelLockdown.Read(root, () => Config));
        _ftraceRefusal = new(ProbeFtraceRefusal);
        _traceFs = new(() => Tracing.TraceFs.TryLocate(root)?.RelativePath);
    }

    /// <summary>The root probed.</summary>
    public KernelRoot Root { get; }

    /// <summary>The build configuration, or null when the root has none.</summary>
    public KernelConfig? Config => _config.Value;

    /// <summary>The tracefs directory below the root (e.g. <c>sys/kernel/tracing</c>) by the one rule of <see cref="Tracing.TraceFs.TryLocate"/>, or null when tracefs is not mounted.</summary>
    public string? TraceFsPath => _traceFs.Value;

    /// <summary>The debugfs mount point below the root, or null.</summary>
    public string? DebugFsPath => MountPoint("debugfs");

    /// <summary>The bpffs mount point below the root, or null.</summary>
    public string? BpfFsPath => MountPoint("bpf");

    /// <summary>The kernel lockdown mode ("none", "integrity", "confidentiality") and where it was read, or nulls when unknown.</summary>
    public (string? Mode, string? Source) Lockdown => _lockdown.Value;

    /// <summary>Probes one facility by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public DebugCapability Probe(string name)
    {
        foreach (var (n, probe) in Probes)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return Run(n, probe);
        throw new ArgumentException($"Unknown debugging facility '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>Probes every facility.</summary>
    public IReadOnlyList<DebugCapability> ProbeAll() => Probes.Select(p => Run(p.Name, p.Probe)).ToArray();

    /// <summary>
    /// Returns the facility's record when it is available; otherwise throws a <see cref="KernelDebugException"/>
    /// (ErrorId <c>&lt;Name&gt;Unavailable</c>, e.g. <c>KprobesUnavailable</c>; <c>TracepointUnavailable</c> for every
    /// tracepoint family) carrying its reason and remedy, with the facility name as target.
    /// </summary>
    public DebugCapability Require(string name)
    {
        var c = Probe(name);
        if (c.Available) return c;
        throw new KernelDebugException(c.Name.Split('.')[0] + "Unavailable", c.FailureCategory,
            $"{c.Name} is not available: {c.Reason}", c.Remedy, c.Name);
    }

    private DebugCapability Run(string name, Func<DebugCapabilities, DebugCapability> probe)
    {
        try { return probe(this); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or KernelDebugException)
        {
            return new DebugCapability { Name = name, Reason = "probing failed: " + e.Message, FailureCategory = KernelErrorCategory.ReadError };
        }
    }

    // ---- evidence helpers -------------------------------------------------------------------------------------

    private string? MountPoint(string type)
    {
        var m = _mounts.Value.LastOrDefault(e => e.FileSystemType == type);
        return m?.MountPoint.TrimStart('/');
    }

    /// <summary>Whether a file existed on the machine: present under the root, or listed by a snapshot as too large to copy.</summary>
    private bool Present(string rel) =>
        Root.Exists(rel) || _manifest.Value?.Omitted.Contains(rel.TrimStart('/'), StringComparer.Ordinal) == true;

    private string? Value(string rel) => Root.TryReadValue(rel);

    private long? Number(string rel) => Value(rel) is { } v && Parsing.Fields.TryLong(v.Split(' ', '\t')[0], out long n) ? n : null;

    private string Cfg(string option) => Config?.Describe(option) ?? $"CONFIG_{option} unknown (no kernel configuration)";

    /// <summary>True/false from the configuration, or null when there is none.</summary>
    private bool? Enabled(string option) => Config?.IsEnabled(option);

    /// <summary>
    /// Why ftrace's function hooks are refused, or null when they are not. Reading <c>available_filter_functions</c>
    /// is the side-effect-free test: under lockdown it fails with EPERM, as does setting the function tracer.
    /// </summary>
    private string? ProbeFtraceRefusal()
    {
        if (TraceFsPath is not { } tfs) return null;
        string rel = tfs + "/available_filter_functions";
        if (!Root.IsLive)
        {
            if (Root.Exists(rel)) return null;
            var failed = _manifest.Value?.Failed.FirstOrDefault(f => f.Path.TrimStart('/') == rel);
            return failed is null ? null : $"reading {rel} failed when the snapshot was taken: {failed.Reason}{LockdownSuffix()}";
        }
        try
        {
            using var fs = new FileStream(Root.Resolve(rel), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            fs.ReadByte();
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return $"reading /{rel} is refused (EPERM){LockdownSuffix()}";
        }
        catch (IOException e)
        {
            return $"reading /{rel} failed: {e.Message}";
        }
    }

    private string LockdownSuffix() => Lockdown.Mode is { } m && m != "none"
        ? $": kernel lockdown ({m}, from {Lockdown.Source}) forbids function tracing"
        : "";

    private const string LockdownRemedy =
        "Function hooks are refused while the kernel is locked down: boot a kernel without CONFIG_LOCK_DOWN_KERNEL_FORCE_* and without lockdown= on the command line (or with Secure Boot off), or use tracepoints instead.";

    // ---- the probes -------------------------------------------------------------------------------------------

    private static (string, Func<DebugCapabilities, DebugCapability>)[] BuildProbes()
    {
        var list = new List<(string, Func<DebugCapabilities, DebugCapability>)>
        {
            ("TraceFs", c => c.MountProbe("TraceFs", "tracefs", "TRACING", "mount -t tracefs nodev /sys/kernel/tracing")),
            ("DebugFs", c => c.MountProbe("DebugFs", "debugfs", "DEBUG_FS", "mount -t debugfs nodev /sys/kernel/debug")),
            ("BpfFs", c => c.MountProbe("BpfFs", "bpf", "BPF_SYSCALL", "mount -t bpf bpf /sys/fs/bpf")),
            ("Btf", c => c.Btf()),
            ("BpfSyscall", c => c.BpfSyscall()),
            ("BpfJit", c => c.BpfJit()),
            ("UnprivilegedBpf", c => c.UnprivilegedBpf()),
            ("Kprobes", c => c.Kprobes()),
            ("Uprobes", c => c.Uprobes()),
            ("Fentry", c => c.Fentry()),
            ("FunctionTracer", c => c.Tracer("FunctionTracer", "function", "FUNCTION_TRACER")),
            ("FunctionGraphTracer", c => c.Tracer("FunctionGraphTracer", "function_graph", "FUNCTION_GRAPH_TRACER")),
        };
        foreach (var family in TracepointFamilies)
            list.Add(("Tracepoint." + family, c => c.Tracepoints(family)));
        list.AddRange(new (string, Func<DebugCapabilities, DebugCapability>)[]
        {
            ("PerfEvents", c => c.PerfEvents()),
            ("KptrRestrict", c => c.KptrRestrict()),
            ("Kallsyms", c => c.Kallsyms()),
            ("Lockdep", c => c.ConfigProbe("Lockdep", "LOCKDEP", "proc/lockdep", "lock dependency validator; enabled by CONFIG_PROVE_LOCKING")),
            ("ProveLocking", c => c.ConfigProbe("ProveLocking", "PROVE_LOCKING", null, "lockdep's deadlock proofs (a debug kernel: slow, for test machines)")),
            ("LockStat", c => c.LockStat()),
            ("Kasan", c => c.Kasan()),
            ("Kfence", c => c.Kfence()),
            ("SlubDebug", c => c.SlubDebug()),
            ("Kmemleak", c => c.Kmemleak()),
            ("HungTaskDetector", c => c.Sysctl("HungTaskDetector", "DETECT_HUNG_TASK", "hung_task_timeout_secs", "sysctl kernel.hung_task_timeout_secs=120", "timeout {0} s")),
            ("SoftLockupDetector", c => c.Watchdog("SoftLockupDetector", "SOFTLOCKUP_DETECTOR", "soft_watchdog")),
            ("HardLockupDetector", c => c.Watchdog("HardLockupDetector", "HARDLOCKUP_DETECTOR", "nmi_watchdog")),
            ("Kdump", c => c.Kdump()),
            ("Pstore", c => c.Pstore()),
            ("Edac", c => c.Edac()),
            ("Mce", c => c.Mce()),
            ("MagicSysRq", c => c.Sysctl("MagicSysRq", "MAGIC_SYSRQ", "sysrq", "sysctl kernel.sysrq=1", "kernel.sysrq={0} (bit mask of allowed functions)")),
            ("DebugKernel", c => c.ConfigProbe("DebugKernel", "DEBUG_KERNEL", null, "kernel built with debugging options selectable")),
        });
        return list.ToArray();
    }

    private DebugCapability Yes(string name, string? detail) => new() { Name = name, Available = true, Detail = detail };

    private DebugCapability No(string name, string? detail, string reason, string remedy, KernelErrorCategory category = KernelErrorCategory.NotImplemented) =>
        new() { Name = name, Available = false, Detail = detail, Reason = reason, Remedy = remedy, FailureCategory = category };

    private DebugCapability NoConfig(string name, string option, string? extra = null) =>
        No(name, Cfg(option), Config is null
                ? $"the kernel configuration is unavailable (no /proc/config.gz or /boot/config-<release>), so CONFIG_{option} cannot be checked"
                : $"CONFIG_{option} is not set",
            $"Rebuild the kernel with CONFIG_{option}=y{extra}.");

    /// <summary>The evidence file is missing: when the configuration says the option is on, say that rather than "not set".</summary>
    private DebugCapability Missing(string name, string option, string evidence, string? extra = null) =>
        Enabled(option) == true
            ? No(name, Cfg(option), $"CONFIG_{option} is set but {evidence} does not exist", $"Check that /proc and /sys are the running kernel's (or that the snapshot captured {evidence}).",
                KernelErrorCategory.ResourceUnavailable)
            : NoConfig(name, option, extra);

    private DebugCapability MountProbe(string name, string fsType, string option, string mountCommand)
    {
        if ((fsType == "tracefs" ? TraceFsPath : MountPoint(fsType)) is { } mp) return Yes(name, "/" + mp);
        if (Enabled(option) == false) return NoConfig(name, option);
        return No(name, null, $"{fsType} is not mounted", mountCommand, KernelErrorCategory.ResourceUnavailable);
    }

    private DebugCapability Btf()
    {
        if (Present("sys/kernel/btf/vmlinux")) return Yes("Btf", "/sys/kernel/btf/vmlinux");
        return No("Btf", Cfg("DEBUG_INFO_BTF"), "/sys/kernel/btf/vmlinux does not exist",
            "Rebuild the kernel with CONFIG_DEBUG_INFO_BTF=y (CO-RE BPF programs, fentry and tp_btf need it).");
    }

    private DebugCapability BpfSyscall()
    {
        // kernel.unprivileged_bpf_disabled exists exactly when the bpf() syscall is built in.
        bool evidence = Present("proc/sys/kernel/unprivileged_bpf_disabled");
        if (evidence || Enabled("BPF_SYSCALL") == true) return Yes("BpfSyscall", Cfg("BPF_SYSCALL"));
        return NoConfig("BpfSyscall", "BPF_SYSCALL");
    }

    private DebugCapability BpfJit()
    {
        long? v = Number("proc/sys/net/core/bpf_jit_enable");
        string always = Enabled("BPF_JIT_ALWAYS_ON") == true ? ", CONFIG_BPF_JIT_ALWAYS_ON=y" : "";
        if (v is null) return Missing("BpfJit", "BPF_JIT", "/proc/sys/net/core/bpf_jit_enable", " (BPF programs then run in the slower interpreter)");
        if (v > 0) return Yes("BpfJit", $"net.core.bpf_jit_enable={v}{always}");
        return No("BpfJit", "net.core.bpf_jit_enable=0", "the BPF JIT is off; programs run in the interpreter",
            "sysctl net.core.bpf_jit_enable=1", KernelErrorCategory.ResourceUnavailable);
    }

    private DebugCapability UnprivilegedBpf()
    {
        long? v = Number("proc/sys/kernel/unprivileged_bpf_disabled");
        if (v is null) return Missing("UnprivilegedBpf", "BPF_SYSCALL", "/proc/sys/kernel/unprivileged_bpf_disabled");
        string d = $"kernel.unprivileged_bpf_disabled={v}";
        return v switch
        {
            0 => Yes("UnprivilegedBpf", d),
            1 => No("UnprivilegedBpf", d, "unprivileged bpf() is disabled until reboot",
                "Run as root or grant CAP_BPF and CAP_PERFMON (setcap cap_bpf,cap_perfmon+ep); the setting cannot be undone without a reboot.", KernelErrorCategory.PermissionDenied),
            _ => No("UnprivilegedBpf", d, "unprivileged bpf() is disabled by the administrator",
                "Run as root or grant CAP_BPF and CAP_PERFMON; or (not recommended) sysctl kernel.unprivileged_bpf_disabled=0.", KernelErrorCategory.PermissionDenied),
        };
    }

    private DebugCapability Kprobes()
    {
        bool? cfg = Enabled("KPROBES");
        string? tfs = TraceFsPath;
        bool events = tfs is not null && Present(tfs + "/kprobe_events");
        if (cfg == false || (cfg is null && tfs is not null && !events))
            return No("Kprobes", Cfg("KPROBES") + (tfs is null ? "" : events ? "" : "; no kprobe_events in tracefs"),
                cfg == false ? "CONFIG_KPROBES is not set" : "tracefs has no kprobe_events",
                "Rebuild the kernel with CONFIG_KPROBES=y and CONFIG_KPROBE_EVENTS=y; KernelDebug's tools use tracepoints, tp_btf and fentry instead where they can.");
        if (cfg is null && tfs is null) return NoConfig("Kprobes", "KPROBES");
        return Yes("Kprobes", Cfg("KPROBES") + (events ? "; tracefs kprobe_events present" : ""));
    }

    private DebugCapability Uprobes()
    {
        bool? cfg = Enabled("UPROBES");
        string? tfs = TraceFsPath;
        bool events = tfs is not null && Present(tfs + "/uprobe_events");
        if (cfg == true || events) return Yes("Uprobes", Cfg("UPROBES") + (events ? "; tracefs uprobe_events present" : ""));
        return NoConfig("Uprobes", "UPROBES", " and CONFIG_UPROBE_EVENTS=y");
    }

    private DebugCapability Fentry()
    {
        if (Enabled("DYNAMIC_FTRACE_WITH_DIRECT_CALLS") != true) return NoConfig("Fentry", "DYNAMIC_FTRACE_WITH_DIRECT_CALLS");
        if (!Present("sys/kernel/btf/vmlinux"))
            return No("Fentry", Cfg("DYNAMIC_FTRACE_WITH_DIRECT_CALLS"), "fentry programs need BTF and /sys/kernel/btf/vmlinux does not exist",
                "Rebuild the kernel with CONFIG_DEBUG_INFO_BTF=y.");
        if (_ftraceRefusal.Value is { } why)
            return No("Fentry", Cfg("DYNAMIC_FTRACE_WITH_DIRECT_CALLS"), "fentry attaches through ftrace, which is refused: " + why, LockdownRemedy, KernelErrorCategory.PermissionDenied);
        return Yes("Fentry", Cfg("DYNAMIC_FTRACE_WITH_DIRECT_CALLS") + "; BTF present");
    }

    private DebugCapability Tracer(string name, string tracer, string option)
    {
        if (Enabled(option) == false) return NoConfig(name, option);
        if (TraceFsPath is not { } tfs)
            return No(name, Cfg(option), "tracefs is not mounted, so available_tracers cannot be read",
                "mount -t tracefs nodev /sys/kernel/tracing", KernelErrorCategory.ResourceUnavailable);
        string? tracers = Value(tfs + "/available_tracers");
        if (tracers is null || !tracers.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(tracer))
            return No(name, $"available_tracers: {tracers}", $"'{tracer}' is not in /{tfs}/available_tracers",
                $"Rebuild the kernel with CONFIG_{option}=y.");
        string detail = $"'{tracer}' in available_tracers; {Cfg(option)}";
        if (_ftraceRefusal.Value is { } why)
            return No(name, detail, $"'{tracer}' is listed but cannot be used: {why}", LockdownRemedy, KernelErrorCategory.PermissionDenied);
        return Yes(name, detail);
    }

    private DebugCapability Tracepoints(string family)
    {
        string name = "Tracepoint." + family;
        if (TraceFsPath is not { } tfs)
            return No(name, null, "tracefs is not mounted, so its event directories cannot be listed",
                "mount -t tracefs nodev /sys/kernel/tracing", KernelErrorCategory.ResourceUnavailable);
        string dir = $"{tfs}/events/{family}";
        if (!Root.DirectoryExists(dir))
        {
            string option = family switch { "raw_syscalls" => "FTRACE_SYSCALLS", "block" => "BLOCK", "lock" => "LOCKDEP or CONFIG_LOCK_STAT", _ => "TRACEPOINTS" };
            return No(name, null, $"/{dir} does not exist", $"Rebuild the kernel with CONFIG_{option}=y.");
        }
        int events = Root.EnumerateEntries(dir).Count(e => Root.DirectoryExists(dir + "/" + e));
        return Yes(name, $"{events} events in /{dir}");
    }

    private DebugCapability PerfEvents()
    {
        long? p = Number("proc/sys/kernel/perf_event_paranoid");
        if (p is null) return Missing("PerfEvents", "PERF_EVENTS", "/proc/sys/kernel/perf_event_paranoid");
        string meaning = p switch
        {
            <= -1 => "no restrictions",
            0 => "unprivileged users: no raw tracepoints",
            1 => "unprivileged users: user and kernel profiling of their own processes",
            2 => "unprivileged users: user-space measurements of their own processes only",
            _ => "unprivileged users: no perf events at all (distribution patch)",
        };
        return Yes("PerfEvents", $"kernel.perf_event_paranoid={p} ({meaning}; root or CAP_PERFMON is not limited)");
    }

    private DebugCapability KptrRestrict()
    {
        long? v = Number("proc/sys/kernel/kptr_restrict");
        if (v is null) return No("KptrRestrict", null, "/proc/sys/kernel/kptr_restrict does not exist", "It exists on every kernel with procfs and sysctl: check the snapshot or /proc.");
        string d = $"kernel.kptr_restrict={v}";
        if (v >= 2)
            return No("KptrRestrict", d, "kernel addresses are hidden from everyone, root included (stacks and kallsyms print zeros)",
                "sysctl kernel.kptr_restrict=1 (addresses visible to CAP_SYSLOG)", KernelErrorCategory.PermissionDenied);
        return Yes("KptrRestrict", d + (v == 1 ? " (addresses visible to CAP_SYSLOG only)" : " (addresses visible)"));
    }

    private DebugCapability Kallsyms()
    {
        if (!Present("proc/kallsyms") && Enabled("KALLSYMS") != true) return NoConfig("Kallsyms", "KALLSYMS");
        string all = Enabled("KALLSYMS_ALL") == true ? "functions and data" : "functions only (CONFIG_KALLSYMS_ALL is not set)";
        if (Root.IsLive && Root.TryReadText("proc/kallsyms", 256) is { } head && head.StartsWith("0000000000000000", StringComparison.Ordinal))
            return No("Kallsyms", "/proc/kallsyms: " + all, "/proc/kallsyms shows zero addresses to this process",
                "Run as root (CAP_SYSLOG) and keep kernel.kptr_restrict below 2.", KernelErrorCategory.PermissionDenied);
        return Yes("Kallsyms", "/proc/kallsyms: " + all);
    }

    private DebugCapability ConfigProbe(string name, string option, string? file, string what)
    {
        if (Enabled(option) == true || (file is not null && Present(file))) return Yes(name, $"{Cfg(option)}: {what}");
        return NoConfig(name, option);
    }

    private DebugCapability LockStat()
    {
        if (Enabled("LOCK_STAT") != true && !Present("proc/lock_stat")) return NoConfig("LockStat", "LOCK_STAT");
        long? on = Number("proc/sys/kernel/lock_stat");
        if (on == 0)
            return No("LockStat", Cfg("LOCK_STAT"), "lock statistics are compiled in but collection is off", "sysctl kernel.lock_stat=1",
                KernelErrorCategory.ResourceUnavailable);
        return Yes("LockStat", $"{Cfg("LOCK_STAT")}; kernel.lock_stat={on?.ToString() ?? "?"}");
    }

    private DebugCapability Kasan()
    {
        if (Enabled("KASAN") != true) return NoConfig("Kasan", "KASAN", " (a debug kernel: KASAN costs memory and speed)");
        string mode = Enabled("KASAN_HW_TAGS") == true ? "hardware tags" : Enabled("KASAN_SW_TAGS") == true ? "software tags" : "generic";
        return Yes("Kasan", $"CONFIG_KASAN=y ({mode} mode)");
    }

    private DebugCapability Kfence()
    {
        long? interval = Number("sys/module/kfence/parameters/sample_interval");
        if (Enabled("KFENCE") != true && interval is null) return NoConfig("Kfence", "KFENCE");
        if (interval == 0)
            return No("Kfence", "kfence.sample_interval=0", "KFENCE is built in but sampling is off",
                "Boot with kfence.sample_interval=100 (or write it to /sys/module/kfence/parameters/sample_interval).", KernelErrorCategory.ResourceUnavailable);
        return Yes("Kfence", $"kfence.sample_interval={interval?.ToString() ?? "?"} ms");
    }

    private DebugCapability SlubDebug()
    {
        if (Enabled("SLUB_DEBUG") != true) return NoConfig("SlubDebug", "SLUB_DEBUG");
        if (Enabled("SLUB_DEBUG_ON") == true) return Yes("SlubDebug", "CONFIG_SLUB_DEBUG_ON=y: checks on for every cache");
        var p = Value("proc/cmdline") is { } cmd ? KernelCommandLineParser.Parse(cmd).FirstOrDefault(x => x.Name is "slub_debug" or "slab_debug") : null;
        if (p is not null) return Yes("SlubDebug", $"{p} on the command line");
        return No("SlubDebug", "CONFIG_SLUB_DEBUG=y", "SLUB debugging is compiled in but not enabled at boot",
            "Boot with slub_debug=FZPU (slab_debug= on 6.8 and later), optionally limited to caches: slub_debug=FZPU,kmalloc-64.",
            KernelErrorCategory.ResourceUnavailable);
    }

    private DebugCapability Kmemleak()
    {
        if (Enabled("DEBUG_KMEMLEAK") != true) return NoConfig("Kmemleak", "DEBUG_KMEMLEAK");
        if (DebugFsPath is not { } dfs)
            return No("Kmemleak", Cfg("DEBUG_KMEMLEAK"), "kmemleak is read through debugfs, which is not mounted",
                "mount -t debugfs nodev /sys/kernel/debug", KernelErrorCategory.ResourceUnavailable);
        if (!Present(dfs + "/kmemleak"))
            return No("Kmemleak", Cfg("DEBUG_KMEMLEAK"), "kmemleak is compiled in but disabled (kmemleak=off or CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF)",
                "Boot with kmemleak=on.", KernelErrorCategory.ResourceUnavailable);
        return Yes("Kmemleak", $"/{dfs}/kmemleak");
    }

    private DebugCapability Sysctl(string name, string option, string sysctl, string remedy, string detailFormat)
    {
        long? v = Number("proc/sys/kernel/" + sysctl);
        if (v is null) return Missing(name, option, "/proc/sys/kernel/" + sysctl);
        string d = string.Format(System.Globalization.CultureInfo.InvariantCulture, detailFormat, v);
        if (v == 0) return No(name, d, $"kernel.{sysctl} is 0 (off)", remedy, KernelErrorCategory.ResourceUnavailable);
        return Yes(name, d);
    }

    private DebugCapability Watchdog(string name, string option, string sysctl)
    {
        long? v = Number("proc/sys/kernel/" + sysctl);
        if (v is null) return Missing(name, option, "/proc/sys/kernel/" + sysctl);
        long? master = Number("proc/sys/kernel/watchdog");
        long? thresh = Number("proc/sys/kernel/watchdog_thresh");
        string d = $"kernel.{sysctl}={v}, kernel.watchdog={master?.ToString() ?? "?"}, kernel.watchdog_thresh={thresh?.ToString() ?? "?"} s";
        if (master == 0) return No(name, d, "the lockup watchdog is off (kernel.watchdog=0)", "sysctl kernel.watchdog=1", KernelErrorCategory.ResourceUnavailable);
        if (v == 0)
        {
            string why = sysctl == "nmi_watchdog"
                ? "the hard lockup detector is off (kernel.nmi_watchdog=0; virtual machines often lack the perf NMI it needs)"
                : $"kernel.{sysctl} is 0 (off)";
            return No(name, d, why, $"sysctl kernel.{sysctl}=1", KernelErrorCategory.ResourceUnavailable);
        }
        return Yes(name, d);
    }

    private DebugCapability Kdump()
    {
        long? size = Number("sys/kernel/kexec_crash_size");
        string? loaded = Value("sys/kernel/kexec_crash_loaded");
        if (size is null && loaded is null)
            return Missing("Kdump", "CRASH_DUMP", "/sys/kernel/kexec_crash_size", ", CONFIG_KEXEC=y (or CONFIG_KEXEC_FILE=y), then boot with crashkernel=256M and load a crash kernel (kdump-tools)");
        string d = $"crash kernel reserved {size ?? 0} bytes, loaded {loaded == "1"}";
        if (size is null or 0)
            return No("Kdump", d, "no memory is reserved for a crash kernel", "Boot with crashkernel=256M (or crashkernel=auto on some distributions), then load it with kdump-tools.",
                KernelErrorCategory.ResourceUnavailable);
        if (loaded != "1")
            return No("Kdump", d, "memory is reserved but no crash kernel is loaded", "Load one: kexec -p /boot/vmlinuz-$(uname -r) --initrd=... (or systemctl start kdump-tools).",
                KernelErrorCategory.ResourceUnavailable);
        return Yes("Kdump", d);
    }

    private DebugCapability Pstore()
    {
        string? backend = Value("sys/module/pstore/parameters/backend");
        if (backend is null && Enabled("PSTORE") != true) return NoConfig("Pstore", "PSTORE");
        if (backend is null or "" or "(null)")
            return No("Pstore", Cfg("PSTORE"), "no pstore backend is registered, so panic logs do not survive a reboot",
                "Use a backend: efi_pstore (UEFI machines, CONFIG_EFI_VARS_PSTORE), ramoops (CONFIG_PSTORE_RAM with ramoops.mem_address/mem_size), or pstore_blk.",
                KernelErrorCategory.ResourceUnavailable);
        string mounted = MountPoint("pstore") is { } mp ? $", mounted at /{mp}" : ", not mounted (mount -t pstore pstore /sys/fs/pstore)";
        return Yes("Pstore", $"backend {backend}{mounted}");
    }

    private DebugCapability Edac()
    {
        if (Root.DirectoryExists("sys/devices/system/edac/mc") || Enabled("EDAC") == true)
        {
            int mcs = Root.EnumerateEntries("sys/devices/system/edac/mc", "mc*").Count();
            if (mcs > 0) return Yes("Edac", $"{mcs} memory controllers in /sys/devices/system/edac/mc");
            return No("Edac", Cfg("EDAC"), "EDAC is built in but no memory-controller driver is loaded (virtual machines have none)",
                "Load the EDAC driver for this platform (e.g. modprobe skx_edac, amd64_edac, ie31200_edac).", KernelErrorCategory.ResourceUnavailable);
        }
        return NoConfig("Edac", "EDAC", " and the platform's EDAC driver");
    }

    private DebugCapability Mce()
    {
        if (Root.DirectoryExists("sys/devices/system/machinecheck")) return Yes("Mce", "/sys/devices/system/machinecheck");
        string? arch = Value("proc/sys/kernel/arch");
        if (arch is not null && arch != "x86_64" && !arch.StartsWith('i'))
            return No("Mce", null, $"machine check exceptions are an x86 facility; this is {arch}", "Use EDAC and the platform's RAS reporting (e.g. ARM RAS, GHES).");
        return Missing("Mce", "X86_MCE", "/sys/devices/system/machinecheck");
    }
}
