using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;

namespace KernelDebug.Core.Sysfs;

/// <summary>The machine-check settings of <c>/sys/devices/system/machinecheck/machinecheck0/</c> (x86, CONFIG_X86_MCE).</summary>
public sealed record MachineCheckSettings
{
    /// <summary>How often corrected errors are polled.</summary>
    public TimeSpan? CheckInterval { get; init; }
    /// <summary>Corrected machine-check interrupts disabled (polling only).</summary>
    public bool? CmciDisabled { get; init; }
    /// <summary>Corrected errors are not logged.</summary>
    public bool? DontLogCorrected { get; init; }
    /// <summary>Corrected errors are ignored altogether.</summary>
    public bool? IgnoreCorrected { get; init; }
    /// <summary>How long CPUs wait for each other in a machine-check exception.</summary>
    public TimeSpan? MonarchTimeout { get; init; }
    /// <summary>All errors are printed, not only those the kernel acted on.</summary>
    public bool? PrintAll { get; init; }
    /// <summary>Program run when an error is logged.</summary>
    public string? Trigger { get; init; }
    /// <summary>MCi_CTL of each bank (bankN), by bank number.</summary>
    public IReadOnlyList<ulong> BankControls { get; init => field = Flat.Hex(value); } = FlatList<ulong>.Empty;
}

/// <summary>Reads machine checks: records from the kernel log, settings from sysfs, and whether the kernel has MCE at all.</summary>
public static class MachineCheckReader
{
    /// <summary>The settings directory of CPU 0.</summary>
    public const string SysfsDirectory = "sys/devices/system/machinecheck/machinecheck0";

    /// <summary>Whether the root shows x86 machine-check support: the sysfs directory or the mce:mce_record tracepoint.</summary>
    public static bool HasMachineCheck(KernelRoot root)
    {
        if (root.DirectoryExists("sys/devices/system/machinecheck")) return true;
        return Tracing.TraceFs.TryLocate(root) is { } fs && root.DirectoryExists(fs.Relative("events/mce/mce_record"));
    }

    /// <summary>The error for a kernel without machine-check support.</summary>
    public static KernelDebugException Unavailable(KernelRoot root) =>
        KernelErrors.FeatureMissing("MachineCheckUnavailable", "machine-check reporting (no /sys/devices/system/machinecheck, no mce:mce_record tracepoint)",
            "Machine-check reporting needs an x86 kernel built with CONFIG_X86_MCE=y (plus CONFIG_X86_MCE_INTEL or CONFIG_X86_MCE_AMD) and not booted with 'mce=off'; " +
            "virtual machines often have none. Past records can still be read from a saved log with -Path.", root.Resolve("sys/devices/system/machinecheck"));

    /// <summary>The settings, or null when the root has no machinecheck directory.</summary>
    public static MachineCheckSettings? ReadSettings(KernelRoot root, ParseContext ctx)
    {
        if (!root.DirectoryExists(SysfsDirectory)) return null;
        string d = SysfsDirectory + "/";
        bool? B(string f) => root.TryReadValue(d + f) switch { "1" => true, "0" => false, null => null, var s => Warn(f, s) };
        bool? Warn(string f, string s) { ctx.Warn(root.Resolve(d + f), 1, "not 0 or 1", s); return null; }
        TimeSpan? Duration(string f, long ticksPerUnit)
        {
            string? s = root.TryReadValue(d + f);
            if (s is null) return null;
            if (Fields.TryLong(s, out long v) && v >= 0 && Fields.TryScaleTicks(v, ticksPerUnit, out var t)) return t;
            ctx.Warn(root.Resolve(d + f), 1, "not a number a duration can hold", s);
            return null;
        }
        ulong Bank(string n)
        {
            string? s = root.TryReadValue(d + n);
            if (s is null) return 0;
            if (Fields.TryHex(s, out ulong v)) return v;
            ctx.Warn(root.Resolve(d + n), 1, "bank control is not a 64-bit hex mask", s);
            return 0;
        }
        var banks = root.EnumerateEntries(SysfsDirectory).Where(n => n.StartsWith("bank") && int.TryParse(n.AsSpan(4), out _))
            .OrderBy(n => int.Parse(n.AsSpan(4)))
            .Select(Bank).ToArray();
        string? trigger = root.TryReadValue(d + "trigger");
        return new MachineCheckSettings
        {
            CheckInterval = Duration("check_interval", TimeSpan.TicksPerSecond),
            CmciDisabled = B("cmci_disabled"),
            DontLogCorrected = B("dont_log_ce"),
            IgnoreCorrected = B("ignore_ce"),
            MonarchTimeout = Duration("monarch_timeout", TimeSpan.TicksPerMicrosecond),
            PrintAll = B("print_all"),
            Trigger = string.IsNullOrEmpty(trigger) ? null : trigger,
            BankControls = banks,
        };
    }

    /// <summary>The machine-check records in a kernel log file (dmesg text, kern.log, console capture; .gz read too).</summary>
    public static IReadOnlyList<MachineCheck> ReadLogFile(string path, ParseContext ctx)
    {
        using var reader = KernelRoot.OpenTextFile(path);
        var p = new MachineCheckParser(ctx);
        var result = new List<MachineCheck>();
        int n = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
            if (p.Add(line, ++n) is { } m) result.Add(m);
        if (p.Flush() is { } last) result.Add(last);
        return result;
    }

    /// <summary>The machine-check records in the kernel's log buffer (live /dev/kmsg, or a snapshot's dev/kmsg).</summary>
    public static IReadOnlyList<MachineCheck> ReadKernelLog(KernelRoot root, ParseContext ctx) =>
        Parse(Kmsg.KernelLog.ReadDevice(root, ctx, follow: false, CancellationToken.None), ctx).ToList();

    /// <summary>The machine-check records in kernel messages from any log source (text logs, the journal, the pipeline).</summary>
    public static IEnumerable<MachineCheck> Parse(IEnumerable<Kmsg.KernelMessage> messages, ParseContext ctx)
    {
        var p = new MachineCheckParser(ctx);
        int n = 0;
        foreach (var msg in messages)
            if (p.Add(msg.Text, msg.LineNumber ?? ++n, msg.Uptime) is { } m) yield return m;
        if (p.Flush() is { } last) yield return last;
    }

    /// <summary>Follows new records as the kernel logs them, until cancelled.</summary>
    public static IEnumerable<MachineCheck> Follow(ParseContext ctx, CancellationToken token)
    {
        // Only records logged from now on: remember where the log ends, then follow and skip up to there.
        long last = -1;
        foreach (var msg in Kmsg.KernelLog.ReadDevice(KernelRoot.Live, ctx, follow: false, token)) last = msg.Sequence ?? last;
        var p = new MachineCheckParser(ctx);
        int n = 0;
        foreach (var msg in Kmsg.KernelLog.ReadDevice(KernelRoot.Live, ctx, follow: true, token))
        {
            if (msg.Sequence is { } seq && seq <= last) continue;
            if (p.Add(msg.Text, ++n, msg.Uptime) is { } m) yield return m;
        }
    }
}
