using System.Globalization;
using KernelDebug.Core.Bpf.Native;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;

namespace KernelDebug.Core.Bpf;

/// <summary>How a tracing program hooks a tracepoint; best first.</summary>
public enum BpfAttachMethod
{
    /// <summary>BTF-typed raw tracepoint (SEC("tp_btf/...")): direct arguments, cheapest; kernel 5.5+ with BTF.</summary>
    TpBtf,
    /// <summary>Raw tracepoint (SEC("raw_tp/...")): untyped arguments; kernel 4.17+.</summary>
    RawTp,
    /// <summary>Classic tracepoint through perf (SEC("tracepoint/...")): needs tracefs for the event id.</summary>
    Tracepoint,
    /// <summary>A perf_event program on sampling perf events (profilers), not a tracepoint.</summary>
    PerfEvent,
}

/// <summary>
/// What must hold before a BPF object is opened: BTF, privileges, the locked-memory limit on old kernels, and
/// tracefs for classic tracepoints. Each failure is a terminating error with the remedy.
/// </summary>
public static class BpfPreconditions
{
    private const int CapSysAdmin = 21, CapPerfmon = 38, CapBpf = 39;

    /// <summary>Kernel (major, minor) from osrelease, or (0, 0) when unreadable.</summary>
    public static (int Major, int Minor) KernelVersion(KernelRoot root)
    {
        var release = root.TryReadValue("proc/sys/kernel/osrelease") ?? "";
        var parts = release.Split('.', '-');
        return parts.Length >= 2 && int.TryParse(parts[0], out int a) && int.TryParse(parts[1], out int b) ? (a, b) : (0, 0);
    }

    /// <summary>
    /// Checks that the kernel has each tracepoint ("system:name"): in tracefs when it is mounted (events/system/name),
    /// else by its btf_trace_&lt;name&gt; type in the kernel's (or a module's) BTF. Names the missing one.
    /// </summary>
    public static void RequireTracepoints(KernelRoot root, IEnumerable<string> tracepoints)
    {
        var list = tracepoints.ToList();
        if (list.Count == 0) return;
        var tracefs = Tracing.TraceFs.TryLocate(root);
        List<string>? btf = null;
        foreach (var tp in list)
        {
            int colon = tp.IndexOf(':');
            string system = tp[..Math.Max(0, colon)], name = tp[(colon + 1)..];
            bool found;
            if (tracefs is not null) found = root.DirectoryExists(tracefs.Relative($"events/{system}/{name}"));
            else
            {
                // vmlinux first; modules' BTF only when it is not there. No BTF at all: nothing to tell, load decides.
                btf ??= ["vmlinux", .. root.EnumerateEntries("sys/kernel/btf").Where(f => f != "vmlinux")];
                var needle = System.Text.Encoding.ASCII.GetBytes($"btf_trace_{name}\0");
                found = !root.Exists("sys/kernel/btf/vmlinux") || btf.Any(f =>
                {
                    try { return File.ReadAllBytes(root.Resolve("sys/kernel/btf/" + f)).AsSpan().IndexOf(needle) >= 0; }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
                });
            }
            if (!found)
                throw new KernelDebugException("BpfTracepointMissing", KernelErrorCategory.NotImplemented,
                    $"This kernel has no tracepoint {tp}, which the tool attaches to.",
                    $"List the kernel's tracepoints with Get-FtraceEvent or in tracefs available_events; {tp} needs a kernel built with it (CONFIG_TRACEPOINTS and the subsystem that defines it).", tp);
        }
    }

    /// <summary>CO-RE programs need the kernel's own BTF.</summary>
    public static void RequireBtf(KernelRoot root)
    {
        if (!root.Exists("sys/kernel/btf/vmlinux"))
            throw KernelErrors.FeatureMissing("BpfBtfMissing", "BTF type information (/sys/kernel/btf/vmlinux)",
                "Boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (distribution kernels since about 5.4 are).", "/sys/kernel/btf/vmlinux");
    }

    /// <summary>Effective capabilities from /proc/self/status (CapEff), or null when unreadable.</summary>
    public static ulong? EffectiveCapabilities(KernelRoot root)
    {
        var status = root.TryReadText("proc/self/status");
        if (status is null) return null;
        foreach (var line in status.Split('\n'))
            if (line.StartsWith("CapEff:", StringComparison.Ordinal) &&
                ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong caps))
                return caps;
        return null;
    }

    /// <summary>Loading tracing programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN).</summary>
    public static void RequireCapabilities(KernelRoot root)
    {
        var caps = EffectiveCapabilities(root);
        if (caps is not { } c) return;   // cannot tell: let the kernel decide
        bool Has(int cap) => (c & (1UL << cap)) != 0;
        if (Has(CapSysAdmin) || (Has(CapBpf) && Has(CapPerfmon))) return;
        throw BpfPermissionDenied();
    }

    /// <summary>The documented error for a caller without the BPF capabilities.</summary>
    public static KernelDebugException BpfPermissionDenied(Exception? inner = null) =>
        new("BpfPermissionDenied", KernelErrorCategory.PermissionDenied,
            "Loading BPF tracing programs requires CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), which this process does not have.",
            "Run PowerShell as root (sudo pwsh), or grant the capabilities to the pwsh executable: sudo setcap cap_bpf,cap_perfmon+ep <path to pwsh>.",
            "CAP_BPF", inner);

    /// <summary>
    /// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK: raise it, and fail with the remedy when that is
    /// refused and the limit is low. Newer kernels use memory cgroups, so nothing is needed (or attempted).
    /// </summary>
    public static unsafe void EnsureMemlock(KernelRoot root, Action<string>? verbose)
    {
        var (major, minor) = KernelVersion(root);
        if (major > 5 || (major == 5 && minor >= 11) || !root.IsLive) return;
        var unlimited = new Libc.RLimit { Current = ulong.MaxValue, Max = ulong.MaxValue };
        if (Libc.setrlimit(Libc.RlimitMemlock, &unlimited) == 0) return;
        Libc.RLimit current;
        if (Libc.getrlimit(Libc.RlimitMemlock, &current) == 0 && current.Current >= 64UL << 20) return;
        throw new KernelDebugException("BpfMemlockTooLow", KernelErrorCategory.LimitsExceeded,
            $"The locked-memory limit (RLIMIT_MEMLOCK) is too low for BPF maps on kernel {major}.{minor}, and raising it was refused.",
            "Raise it before starting PowerShell: 'ulimit -l unlimited' (as root), or LimitMEMLOCK=infinity in the service unit.", "RLIMIT_MEMLOCK");
    }

    /// <summary>The attach methods this kernel offers, best first.</summary>
    public static IReadOnlyList<BpfAttachMethod> AvailableAttachMethods(KernelRoot root)
    {
        var (major, minor) = KernelVersion(root);
        bool AtLeast(int a, int b) => major > a || (major == a && minor >= b) || major == 0;
        var list = new List<BpfAttachMethod>();
        if (AtLeast(5, 5) && root.Exists("sys/kernel/btf/vmlinux")) list.Add(BpfAttachMethod.TpBtf);
        if (AtLeast(4, 17)) list.Add(BpfAttachMethod.RawTp);
        list.Add(BpfAttachMethod.Tracepoint);
        return list;
    }

    /// <summary>
    /// Classic tracepoints need tracefs (libbpf reads the event id there). Mounts it at /sys/kernel/tracing when it
    /// is not mounted, and says so; a refused mount is a terminating error with the mount command.
    /// </summary>
    public static void EnsureTracefs(KernelRoot root, Action<string>? verbose)
    {
        // One place knows where tracefs lives and how to mount it: the tracing area's locator.
        if (Tracing.TraceFs.Locate(root).MountedNow)
            verbose?.Invoke("tracefs was not mounted: mounted it at /sys/kernel/tracing (classic tracepoints need it).");
    }
}
