using KernelDebug.Core.Inventory;
using KernelDebug.Core.Procfs;

namespace KernelDebug.Core.Health;

// Checks on memory, CPU, load, pressure and the kernel's debug facilities, built on the inventory readers.
public static partial class HealthChecks
{
    private static HealthCheck[] ResourceChecks => [DebugFeatures, MemoryUsage, SlabShare, Swap, CpuUsage, LoadPerCpu, Pressure, TracingFacilities, SyscallSample];

    private static MemoryInfo Memory(HealthContext ctx) => ctx.Get("meminfo", () => MemInfoReader.Read(ctx.Root, ctx.Issues));
    private static DebugCapabilities Capabilities(HealthContext ctx) => ctx.Get("caps", () => new DebugCapabilities(ctx.Root));

    /// <summary>The debugging facilities the origin tool asked about, each with what enables it.</summary>
    private static readonly string[] DebugFeatureNames = ["DebugKernel", "Kasan", "Kfence", "Lockdep", "ProveLocking", "LockStat", "SlubDebug", "Kmemleak", "FunctionTracer", "PerfEvents", "Kallsyms", "Btf", "Kprobes"];

    internal static readonly HealthCheck DebugFeatures = new("KD1002", HealthArea.Kernel, "Debug features",
        "Lists which kernel debugging facilities this kernel has (DEBUG_KERNEL, KASAN, KFENCE, LOCKDEP, PROVE_LOCKING, LOCK_STAT, " +
        "SLUB debug, kmemleak, the function tracer, perf events, kallsyms, BTF, kprobes) with the CONFIG_ option or setting that enables " +
        "each missing one. Information only: production kernels rightly lack most of them; KFENCE is the one cheap enough to recommend everywhere.",
        false, ctx =>
        {
            var caps = Capabilities(ctx);
            var probed = DebugFeatureNames.Select(caps.Probe).ToList();
            var missing = probed.Where(p => !p.Available).ToList();
            string have = string.Join(", ", probed.Where(p => p.Available).Select(p => p.Name));
            string lack = string.Join(", ", missing.Select(p => p.Name));
            string? rec = missing.Count == 0 ? null : string.Join(" ", missing.Where(m => m.Remedy is not null).Select(m => $"{m.Name}: {m.Remedy}"));
            return [ctx.Finding(HealthSeverity.Info,
                $"Available: {(have.Length == 0 ? "none" : have)}. Missing: {(lack.Length == 0 ? "none" : lack)}.", rec, probed.Count - missing.Count, [.. probed])];
        });

    internal static readonly HealthCheck MemoryUsage = new("KD1301", HealthArea.Memory, "Memory usage",
        "Memory used as free(1) computes it (MemTotal − MemAvailable). Warning at MemoryWarningPercent (80 %), critical at " +
        "MemoryCriticalPercent (90 %). The origin tool warned only above 90 %.",
        false, ctx =>
        {
            var m = Memory(ctx);
            if (m.UsedPercent is not { } used || m.MemTotal is not { } total)
                return [ctx.Finding(HealthSeverity.Info, "MemTotal/MemAvailable are not in /proc/meminfo.", evidence: m)];
            var t = ctx.Thresholds;
            var sev = used >= t.MemoryCriticalPercent ? HealthSeverity.Critical : used >= t.MemoryWarningPercent ? HealthSeverity.Warning : HealthSeverity.Ok;
            string msg = $"{used:0.0} % of {FormatBytes(total)} used ({FormatBytes(m.MemAvailable)} available).";
            string? rec = sev == HealthSeverity.Ok ? null
                : "Find the consumer: Get-Process | Sort-Object WorkingSet64 -Descending | Select-Object -First 10; for kernel memory " +
                  "Get-SlabCache | Sort-Object TotalBytes -Descending | Select-Object -First 10; watch growth with Get-SlabCache -Interval 00:00:10.";
            return [ctx.Finding(sev, msg, rec, used, m, MemoryChart(m))];
        });

    internal static readonly HealthCheck SlabShare = new("KD1302", HealthArea.Memory, "Unreclaimable slab",
        "Kernel slab memory that cannot be reclaimed (SUnreclaim) as a share of total memory. Warning at SlabUnreclaimableWarningPercent " +
        "(10 %): a growing share is the signature of a kernel memory leak.",
        false, ctx =>
        {
            var m = Memory(ctx);
            if (m.SlabUnreclaimable is not { } un || m.MemTotal is not { } total || total == 0)
                return [ctx.Finding(HealthSeverity.Info, "SUnreclaim is not in /proc/meminfo.")];
            double pct = 100.0 * un / total;
            var sev = pct >= ctx.Thresholds.SlabUnreclaimableWarningPercent ? HealthSeverity.Warning : HealthSeverity.Ok;
            return [ctx.Finding(sev, $"Unreclaimable slab is {FormatBytes(un)} ({pct:0.0} % of memory); reclaimable {FormatBytes(m.SlabReclaimable)}.",
                sev == HealthSeverity.Ok ? null : "Find the growing cache with Get-SlabCache -Interval 00:00:30 -Count 4 and its allocation sites with Trace-KernelMemoryLeak.",
                pct, m)];
        });

    internal static readonly HealthCheck Swap = new("KD1303", HealthArea.Memory, "Swap",
        "Swap used as a share of swap size; warning at SwapWarningPercent (50 %). No swap at all is information: the OOM killer is then the only answer to memory pressure.",
        false, ctx =>
        {
            var m = Memory(ctx);
            if (m.SwapTotal is null or 0)
                return [ctx.Finding(HealthSeverity.Info, "No swap is configured: under memory pressure the OOM killer acts sooner.",
                    "If workloads have cold anonymous memory, add swap (or zram: modprobe zram) so reclaim has somewhere to put it.", 0)];
            double pct = 100.0 * (m.SwapTotal.Value - (m.SwapFree ?? 0)) / m.SwapTotal.Value;
            var sev = pct >= ctx.Thresholds.SwapWarningPercent ? HealthSeverity.Warning : HealthSeverity.Ok;
            return [ctx.Finding(sev, $"{pct:0.0} % of {FormatBytes(m.SwapTotal)} swap used.",
                sev == HealthSeverity.Ok ? null : "Swap in/out rates tell whether it hurts now: Get-VmStat -Interval 00:00:05 (pswpin/pswpout).", pct, m)];
        });

    internal static readonly HealthCheck CpuUsage = new("KD1401", HealthArea.Cpu, "CPU usage",
        "CPU time shares measured over SampleInterval (not the since-boot average the origin tool printed): warning when busy time " +
        "reaches CpuBusyWarningPercent (90 %), I/O wait IoWaitWarningPercent (20 %) or system time SystemTimeWarningPercent (30 %).",
        true, ctx =>
        {
            ctx.Status?.Invoke($"Sampling CPU usage for {ctx.SampleInterval.TotalSeconds:0.#} s");
            var a = ProcStatReader.Read(ctx.Root, ctx.Issues);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            ctx.Cancel.WaitHandle.WaitOne(ctx.SampleInterval);
            ctx.Cancel.ThrowIfCancellationRequested();
            var b = ProcStatReader.Read(ctx.Root, ctx.Issues);
            var u = CpuStatCalculator.Between(a, b, sw.Elapsed, DateTimeOffset.Now, false).First();
            var t = ctx.Thresholds;
            var problems = new List<string>();
            if (u.BusyPercent >= t.CpuBusyWarningPercent) problems.Add($"busy {u.BusyPercent:0.0} %");
            if (u.IoWaitPercent >= t.IoWaitWarningPercent) problems.Add($"I/O wait {u.IoWaitPercent:0.0} %");
            if (u.SystemPercent >= t.SystemTimeWarningPercent) problems.Add($"system {u.SystemPercent:0.0} %");
            string msg = $"Over {sw.Elapsed.TotalSeconds:0.0} s: user {u.UserPercent:0.0} %, system {u.SystemPercent:0.0} %, I/O wait {u.IoWaitPercent:0.0} %, " +
                         $"idle {u.IdlePercent:0.0} %, steal {u.StealPercent:0.0} %.";
            var chart = new ReportChart("CPU time over the sample", "percent", "bar",
                [new("user", u.UserPercent), new("nice", u.NicePercent), new("system", u.SystemPercent), new("iowait", u.IoWaitPercent),
                 new("irq", u.IrqPercent), new("softirq", u.SoftIrqPercent), new("steal", u.StealPercent), new("idle", u.IdlePercent)]);
            if (problems.Count == 0) return [ctx.Finding(HealthSeverity.Ok, msg, value: u.BusyPercent, evidence: [u, chart])];
            string rec = u.IoWaitPercent >= t.IoWaitWarningPercent
                ? "I/O wait: find the slow device with Measure-BlockIoLatency -Duration 00:00:10 -ByDisk and blocked tasks with Get-BlockedTask."
                : u.SystemPercent >= t.SystemTimeWarningPercent
                    ? "System time: see which syscalls cost it with Measure-SyscallLatency -Duration 00:00:10 and where with Measure-KernelCpuProfile."
                    : "Busy: Get-Process | Sort-Object CPU -Descending | Select-Object -First 10; kernel side with Measure-KernelCpuProfile.";
            return [ctx.Finding(HealthSeverity.Warning, msg + " High: " + string.Join(", ", problems) + ".", rec, u.BusyPercent, u, chart)];
        });

    internal static readonly HealthCheck LoadPerCpu = new("KD1402", HealthArea.Cpu, "Load per CPU",
        "The 1-minute load average divided by the number of CPUs (the origin tool compared the raw load with 2.0, whatever the CPU count): " +
        "warning at LoadPerCpuWarning (1.0), error at LoadPerCpuError (2.0). Load counts tasks in D state too, so high load with idle CPUs points at I/O or locks.",
        false, ctx =>
        {
            var l = LoadAverageParser.Read(ctx.Root, ctx.Issues);
            if (l.Load1PerCpu is not { } per)
                return [ctx.Finding(HealthSeverity.Info, $"Load {l.Load1:0.00}; the CPU count is unknown.", evidence: l)];
            var t = ctx.Thresholds;
            var sev = per >= t.LoadPerCpuError ? HealthSeverity.Error : per >= t.LoadPerCpuWarning ? HealthSeverity.Warning : HealthSeverity.Ok;
            return [ctx.Finding(sev, $"Load {l.Load1:0.00} {l.Load5:0.00} {l.Load15:0.00} on {l.CpuCount} CPUs: {per:0.00} per CPU.",
                sev == HealthSeverity.Ok ? null : "Runnable or blocked? Compare Get-CpuStat -Interval 00:00:05 (busy) with Get-BlockedTask (D state) and Get-PressureStall.",
                per, l)];
        });

    internal static readonly HealthCheck Pressure = new("KD1403", HealthArea.Cpu, "Pressure stall",
        "PSI for cpu, memory and io: 'some' avg10 at or above PressureSomeWarningPercent (10 %) is a warning, 'full' avg10 at or above " +
        "PressureFullErrorPercent (5 %) an error — the share of time tasks could not run for want of the resource.",
        false, ctx =>
        {
            var readings = PressureStallParser.Read(ctx.Root, ["cpu", "memory", "io"], null, ctx.Issues, _ => { });
            if (readings.Count == 0)
                return [ctx.Finding(HealthSeverity.Info, "Pressure stall information is not available.", "Boot a kernel with CONFIG_PSI=y (and psi=1 if CONFIG_PSI_DEFAULT_DISABLED).")];
            var t = ctx.Thresholds;
            var sev = HealthSeverity.Ok;
            var parts = new List<string>();
            var advice = new List<string>();
            foreach (var r in readings)
            {
                bool full = r.FullAvg10 is { } f0 && f0 >= t.PressureFullErrorPercent;
                bool some = r.SomeAvg10 >= t.PressureSomeWarningPercent;
                if (full) sev = HealthSeverity.Error;
                else if (some && sev < HealthSeverity.Warning) sev = HealthSeverity.Warning;
                if (full || some)
                    advice.Add(r.Resource switch
                    {
                        "memory" => "memory: Get-VmStat -Interval 00:00:05 (direct reclaim, allocation stalls) and Get-SlabCache -Top 10",
                        "io" => "io: Measure-BlockIoLatency -ByDisk -Duration 00:00:10 and Get-BlockedTask",
                        _ => "cpu: Get-CpuStat -Interval 00:00:05 -PerCpu and the busiest processes (Get-Process | Sort-Object CPU -Descending)",
                    });
                parts.Add($"{r.Resource} some {r.SomeAvg10:0.##} %" + (r.FullAvg10 is { } f ? $" full {f:0.##} %" : ""));
            }
            string? rec = advice.Count == 0 ? null : "Tasks wait for " + string.Join("; ", advice) + ".";
            return [ctx.Finding(sev, "avg10: " + string.Join("; ", parts) + ".", rec, readings.Max(r => r.SomeAvg10), [.. readings])];
        });

    internal static readonly HealthCheck TracingFacilities = new("KD1701", HealthArea.Tracing, "Tracing facilities",
        "Which live tools can run here: tracefs (ftrace captures), BTF and the BPF syscall (Measure-* and Trace-* tools), the function tracer " +
        "(Measure-KernelFunction). A missing one is information with the mount command or CONFIG_ option that brings it.",
        false, ctx =>
        {
            var caps = Capabilities(ctx);
            var probed = new[] { "TraceFs", "Btf", "BpfSyscall", "BpfJit", "FunctionTracer" }.Select(caps.Probe).ToList();
            var missing = probed.Where(p => !p.Available).ToList();
            if (missing.Count == 0) return [ctx.Finding(HealthSeverity.Ok, "tracefs, BTF, BPF with JIT and the function tracer are available.", evidence: [.. probed])];
            return [ctx.Finding(HealthSeverity.Info,
                "Not available: " + string.Join("; ", missing.Select(m => $"{m.Name} ({m.Reason})")) + ".",
                string.Join(" ", missing.Where(m => m.Remedy is not null).Select(m => m.Remedy)), probed.Count - missing.Count, [.. probed])];
        });

    /// <summary>
    /// System calls that mostly wait for something else (a lock owner, a timer, an fd becoming ready, a child, a
    /// signal, data on a pipe or socket): their latency is idle time, so KD1404 sets them aside rather than rank them.
    /// </summary>
    internal static readonly HashSet<string> BlockingWaits =
    [
        "futex", "futex_waitv", "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2",
        "nanosleep", "clock_nanosleep", "pause", "wait4", "waitid", "rt_sigtimedwait", "rt_sigsuspend", "sigsuspend",
        "accept", "accept4", "read", "readv", "recvfrom", "recvmsg", "recvmmsg", "io_getevents", "io_pgetevents",
        "io_uring_enter", "msgrcv", "semop", "semtimedop", "mq_timedreceive", "sched_yield", "flock",
    ];

    internal static readonly HealthCheck SyscallSample = new("KD1404", HealthArea.Cpu, "Syscall latency sample",
        "Measures every system call of every process except KernelDebug's own for SampleInterval with the eBPF syscall tracer " +
        "(Measure-SyscallLatency -ByProcess) and lists the process/syscall pairs that spent the most time in the kernel, with the latency " +
        "histogram of the costliest in the report. Blocking waits (futex, poll, epoll_wait, select, nanosleep, wait4, accept, read/recv on " +
        "pipes and sockets, ...) are set aside: their latency is idle time, not kernel slowness. Information: what is slow depends on the " +
        "workload; a non-waiting syscall whose P99 reaches 100 ms is a warning. Needs root (CAP_BPF, CAP_PERFMON) and BTF; without them it says why.",
        true, ctx =>
        {
            ctx.Status?.Invoke($"Measuring syscall latency for {ctx.SampleInterval.TotalSeconds:0.#} s");
            IReadOnlyList<Bpf.SyscallLatency> records;
            using (var meter = Bpf.SyscallLatencyMeter.Start(ctx.Root, new Bpf.SyscallLatencyOptions { ByProcess = true }))
            {
                ctx.Cancel.WaitHandle.WaitOne(ctx.SampleInterval);
                records = meter.Finish();
            }
            int self = Environment.ProcessId;
            var others = records.Where(r => r.ProcessId != self).ToList();
            var waits = others.Where(r => BlockingWaits.Contains(r.Syscall)).ToList();
            var work = others.Where(r => !BlockingWaits.Contains(r.Syscall)).ToList();
            string sampled = $"Sampled every system call of every process except KernelDebug's own (PID {self}) for {ctx.SampleInterval.TotalSeconds:0.#} s" +
                $"{(records.Count > 0 ? $" ({records[0].AttachMethod})" : "")}; {waits.Sum(r => (double)r.Count):N0} blocking-wait call(s) (futex, poll, epoll_wait, nanosleep, read, ...) set aside";
            var top = work.OrderByDescending(r => r.Total).Take(5).ToList();
            if (top.Count == 0) return [ctx.Finding(HealthSeverity.Info, $"{sampled}; no other system call was made.")];
            var slow = work.Where(r => r.P99 >= TimeSpan.FromMilliseconds(100) && r.Count >= 10).ToList();
            string list = string.Join("; ", top.Select(r => $"{r.Syscall} by {r.Command} ({r.ProcessId}) {r.Count:N0} calls, total {r.Total.TotalMilliseconds:0.#} ms, P99 {r.P99.TotalMilliseconds:0.###} ms"));
            var sev = slow.Count > 0 ? HealthSeverity.Warning : HealthSeverity.Info;
            string? rec = slow.Count == 0 ? null
                : $"Slow: {string.Join(", ", slow.Select(r => $"{r.Syscall} ({r.Command})"))}. Look closer: Measure-SyscallLatency -Syscall {slow[0].Syscall} -ProcessId {slow[0].ProcessId} -Duration 00:00:10.";
            return [ctx.Finding(sev, $"{sampled}. Most time in the kernel: {list}.", rec, top.Sum(r => (double)r.Count), [.. top])];
        });

    private static ReportChart MemoryChart(MemoryInfo m)
    {
        long total = m.MemTotal ?? 0;
        long anon = m.AnonPages ?? 0, cache = (m.Cached ?? 0) + (m.Buffers ?? 0), slab = m.Slab ?? 0, free = m.MemFree ?? 0;
        long kernel = (m.KernelStack ?? 0) + (m.PageTables ?? 0) + (m.Percpu ?? 0);
        long other = Math.Max(0, total - anon - cache - slab - free - kernel);
        return new ReportChart("Memory breakdown", "bytes", "bar",
            [new("anonymous (processes)", anon), new("page cache + buffers", cache), new("slab", slab), new("kernel stacks, page tables, percpu", kernel),
             new("other", other), new("free", free)]);
    }
}
