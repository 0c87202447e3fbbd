namespace KernelDebug.Core.Inventory;

/// <summary>One pattern of files a snapshot copies, and who reads them.</summary>
/// <param name="Pattern">Path below the root; <c>*</c> matches within one path segment, a final <c>**</c> every file below.</param>
/// <param name="ReadBy">Which readers use it (documentation, and the reason a file is in snapshots at all).</param>
/// <param name="MaxBytes">Files larger than this are not copied (recorded as omitted).</param>
public sealed record SnapshotEntry(string Pattern, string ReadBy, int MaxBytes = KernelRoot.DefaultMaxBytes);

/// <summary>
/// The one list of kernel files that <c>Save-KernelSnapshot</c> copies: every file some KernelDebug reader uses.
/// An area that starts reading a new file adds it here, so snapshots taken afterwards carry it.
/// Sources that are not plain files (tracefs at its mount point, <c>/dev/kmsg</c>, tasks in D state,
/// <c>/boot/config-&lt;release&gt;</c>) are handled by <see cref="SnapshotWriter"/> itself.
/// </summary>
public static class SnapshotCatalog
{
    /// <summary>Files that exist on most machines but are too large to copy; readers treat them as present (<see cref="SnapshotManifest.Omitted"/>).</summary>
    public static IReadOnlyList<string> AlwaysOmitted { get; } = ["sys/kernel/btf/vmlinux", "proc/kallsyms"];

    /// <summary>The tracepoint families whose event <c>format</c> files are copied (the ones this module's tools decode).</summary>
    public static IReadOnlyList<string> TraceEventFamilies { get; } = ["raw_syscalls", "sched", "block", "kmem", "lock", "irq", "workqueue", "timer", "syscalls"];

    /// <summary>The patterns.</summary>
    public static IReadOnlyList<SnapshotEntry> Entries { get; } =
    [
        new("proc/version", "Get-KernelInfo"),
        new("proc/cmdline", "Get-KernelInfo, Get-KernelDebugCapability"),
        new("proc/uptime", "Get-KernelInfo"),
        new("proc/stat", "Get-KernelInfo, Get-CpuStat"),
        new("proc/meminfo", "Get-MemoryInfo"),
        new("proc/loadavg", "Get-LoadAverage"),
        new("proc/vmstat", "memory readers"),
        new("proc/buddyinfo", "memory readers"),
        new("proc/pagetypeinfo", "memory readers"),
        new("proc/zoneinfo", "memory readers"),
        new("proc/slabinfo", "Get-SlabCache"),
        new("proc/pressure/*", "Get-PressureStall"),
        new("proc/lockdep", "lock readers"),
        new("proc/lockdep_stats", "lock readers"),
        new("proc/lockdep_chains", "lock readers"),
        new("proc/lock_stat", "lock readers"),
        new("proc/mounts", "mount discovery (tracefs, debugfs, bpffs, cgroup2)"),
        new("proc/modules", "symbol and taint readers"),
        new("proc/config.gz", "Get-KernelConfig, Get-KernelDebugCapability"),
        new("proc/interrupts", "interrupt readers"),
        new("proc/softirqs", "interrupt readers"),
        new("proc/swaps", "memory readers"),
        new("proc/sys/**", "Get-KernelSysctl, Get-KernelInfo, Get-KernelDebugCapability", 1 << 20),
        new("sys/kernel/slab/*/*", "Get-SlabCache (small attributes)", 64 * 1024),
        new("sys/kernel/mm/transparent_hugepage/**", "memory readers", 64 * 1024),
        new("sys/kernel/security/lockdown", "Get-KernelInfo, Get-KernelDebugCapability"),
        new("sys/kernel/kexec_loaded", "Get-KernelInfo, Get-KernelDebugCapability"),
        new("sys/kernel/kexec_crash_loaded", "Get-KernelInfo, Get-KernelDebugCapability"),
        new("sys/kernel/kexec_crash_size", "Get-KernelInfo, Get-KernelDebugCapability"),
        new("sys/kernel/oops_count", "crash readers"),
        new("sys/kernel/warn_count", "crash readers"),
        new("sys/kernel/softlockup_count", "lockup readers"),
        new("sys/kernel/hardlockup_count", "lockup readers"),
        new("sys/kernel/rcu_stall_count", "lockup readers"),
        new("sys/devices/system/cpu/online", "Get-KernelInfo, Get-LoadAverage"),
        new("sys/devices/system/cpu/possible", "per-CPU readers"),
        new("sys/devices/system/node/online", "Get-KernelInfo"),
        new("sys/devices/system/node/node*/meminfo", "Get-MemoryInfo -Node"),
        new("sys/devices/system/node/node*/cpulist", "NUMA readers"),
        new("sys/devices/system/edac/**", "EDAC readers", 64 * 1024),
        new("sys/devices/system/machinecheck/machinecheck0/*", "Get-KernelDebugCapability (MCE)", 64 * 1024),
        new("sys/module/pstore/parameters/*", "Get-KernelInfo, Get-KernelDebugCapability"),
        new("sys/module/kfence/parameters/*", "Get-KernelDebugCapability"),
        new("sys/fs/pstore/*", "pstore readers"),
    ];
}
