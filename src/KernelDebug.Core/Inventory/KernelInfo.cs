using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Inventory;

/// <summary>What a kernel is and how it was started: the first thing to read on an unknown box.</summary>
public sealed record KernelInfo
{
    /// <summary>Host name (<c>kernel.hostname</c>).</summary>
    public string? HostName { get; init; }
    /// <summary>Release, as <c>uname -r</c> prints it.</summary>
    public string? Release { get; init; }
    /// <summary>The full version string of <c>/proc/version</c> (compiler, build time).</summary>
    public string? Version { get; init; }
    /// <summary>Machine architecture, as <c>uname -m</c> prints it.</summary>
    public string? Architecture { get; init; }
    /// <summary>When the kernel booted.</summary>
    public DateTimeOffset? BootTime { get; init; }
    /// <summary>Time since boot (including suspend), from <c>/proc/uptime</c>.</summary>
    public TimeSpan? Uptime { get; init; }
    /// <summary>The raw command line.</summary>
    public string? CommandLine { get; init; }
    /// <summary>The command line split into parameters (init's arguments after <c>--</c> left out).</summary>
    public IReadOnlyList<KernelParameter> Parameters { get; init => field = Flat.List(value, " "); } = FlatList<KernelParameter>.Empty;
    /// <summary>Taint, decoded.</summary>
    public KernelTaint? Taint { get; init; }
    /// <summary>Memory page size in bytes.</summary>
    public int PageSize { get; init; }
    /// <summary>Number of online CPUs.</summary>
    public int CpuCount { get; init; }
    /// <summary>Online NUMA node numbers.</summary>
    public IReadOnlyList<int> NumaNodes { get; init => field = Flat.List(value, ","); } = FlatList<int>.Empty;
    /// <summary>How many NUMA nodes are online (NumaNodes lists their numbers: one node is usually node 0).</summary>
    public int NumaNodeCount => NumaNodes.Count;
    /// <summary>Kernel lockdown mode (none, integrity, confidentiality): from securityfs, else lockdown= on the command line, else the CONFIG_LOCK_DOWN_KERNEL_FORCE_* option; null when none of them tells.</summary>
    public string? Lockdown { get; init; }
    /// <summary>Whether a crash (kdump) kernel is loaded; null when the kernel has no kexec support.</summary>
    public bool? CrashKernelLoaded { get; init; }
    /// <summary>Memory reserved for the crash kernel, in bytes; null when unknown.</summary>
    public long? CrashKernelSize { get; init; }
    /// <summary>The pstore backend that keeps panic logs across reboot, or null when none is registered.</summary>
    public string? PstoreBackend { get; init; }
    /// <summary>Where this was read from: "/" for the live system, else the snapshot directory.</summary>
    public string? Root { get; init; }
}

/// <summary>Reads <see cref="KernelInfo"/> from a <see cref="KernelRoot"/>.</summary>
public static class KernelInfoReader
{
    /// <summary>Reads everything it can; values the root lacks stay null. Parse problems go to <paramref name="ctx"/>.</summary>
    public static KernelInfo Read(KernelRoot root, ParseContext ctx)
    {
        string? release = root.TryReadValue("proc/sys/kernel/osrelease");
        if (release is null && root.TryReadValue("proc/version") is { } v0)
            release = ParseReleaseFromVersion(v0);
        string? arch = root.TryReadValue("proc/sys/kernel/arch");
        if (arch is null && root.IsLive)
            arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
            {
                System.Runtime.InteropServices.Architecture.X64 => "x86_64",
                System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
                var a => a.ToString().ToLowerInvariant(),
            };

        TimeSpan? uptime = null;
        if (root.TryReadValue("proc/uptime") is { } up)
        {
            var f = Fields.Split(up);
            if (Fields.TryDouble(f.Next(), out double secs) && secs >= 0 && Fields.TrySeconds(secs, out var u)) uptime = u;
            else ctx.Warn(root.Resolve("proc/uptime"), 1, "uptime is not a number of seconds a duration can hold", up);
        }

        string? cmdline = root.TryReadValue("proc/cmdline");
        string? tainted = root.TryReadValue("proc/sys/kernel/tainted");
        KernelTaint? taint = null;
        if (tainted is not null)
        {
            if (Fields.TryULong(tainted, out ulong t)) taint = KernelTaint.FromValue(t);
            else ctx.Warn(root.Resolve("proc/sys/kernel/tainted"), 1, "tainted is not a number", tainted);
        }

        string? lockdown = KernelLockdown.Read(root, () => KernelConfigReader.TryRead(root)).Mode;

        bool? crashLoaded = root.TryReadValue("sys/kernel/kexec_crash_loaded") switch
        {
            null => null,
            "1" => true,
            "0" => false,
            var kcl => Unknown(ctx, root.Resolve("sys/kernel/kexec_crash_loaded"), kcl),
        };
        long? crashSize = null;
        if (root.TryReadValue("sys/kernel/kexec_crash_size") is { } kcs)
        {
            if (Fields.TryLong(kcs, out long cs) && cs >= 0) crashSize = cs;
            else ctx.Warn(root.Resolve("sys/kernel/kexec_crash_size"), 1, "not a size in bytes", kcs);
        }
        string? pstore = root.TryReadValue("sys/module/pstore/parameters/backend");
        if (pstore is "(null)" or "") pstore = null;

        string? cpus = root.TryReadValue("sys/devices/system/cpu/online");
        string? nodes = root.TryReadValue("sys/devices/system/node/online");

        return new KernelInfo
        {
            HostName = root.TryReadValue("proc/sys/kernel/hostname"),
            Release = release,
            Version = root.TryReadValue("proc/version"),
            Architecture = arch,
            BootTime = ReadBootTime(root),
            Uptime = uptime,
            CommandLine = cmdline,
            Parameters = cmdline is null ? Array.Empty<KernelParameter>() : KernelCommandLineParser.Parse(cmdline),
            Taint = taint,
            PageSize = root.PageSize,
            CpuCount = cpus is null ? (root.IsLive ? Environment.ProcessorCount : 0) : CpuList.Parse(cpus, ctx).Count,
            NumaNodes = nodes is null ? Array.Empty<int>() : CpuList.Parse(nodes, ctx),
            Lockdown = lockdown,
            CrashKernelLoaded = crashLoaded,
            CrashKernelSize = crashSize,
            PstoreBackend = pstore,
            Root = root.Path,
        };
    }

    private static bool? Unknown(ParseContext ctx, string path, string text)
    {
        ctx.Warn(path, 1, "not 0 or 1", text);
        return null;
    }

    /// <summary>The boot time from the <c>btime</c> line of <c>/proc/stat</c>, or null.</summary>
    public static DateTimeOffset? ReadBootTime(KernelRoot root)
    {
        string? stat = root.TryReadText("proc/stat");
        if (stat is null) return null;
        foreach (var line in stat.AsSpan().EnumerateLines())
            if (line.StartsWith("btime ") && Fields.TryLong(line[6..].Trim(), out long secs) && Fields.TryUnixSeconds(secs, out var boot))
                return boot;
        return null;
    }

    /// <summary>"Linux version 6.18.4 (...)" → "6.18.4".</summary>
    public static string? ParseReleaseFromVersion(string version)
    {
        const string prefix = "Linux version ";
        if (!version.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var f = Fields.Split(version.AsSpan(prefix.Length));
        var r = f.Next();
        return r.IsEmpty ? null : r.ToString();
    }
}
