using KernelDebug.Core.Inventory;

namespace KernelDebug.Core.Health;

/// <summary>
/// The catalog of checks, one entry each. Ids are stable: a check keeps its id for ever and a removed one's id is
/// not reused. Areas own a block: 10xx Kernel, 11xx Crash, 12xx Log, 13xx Memory, 14xx Cpu, 15xx Locking,
/// 16xx Hardware, 17xx Tracing.
/// </summary>
public static partial class HealthChecks
{
    /// <summary>Every check, in the order they run (cheap file reads first, sampling last).</summary>
    public static IReadOnlyList<HealthCheck> All => _all ??= Build();
    private static IReadOnlyList<HealthCheck>? _all;

    private static IReadOnlyList<HealthCheck> Build()
    {
        var list = new List<HealthCheck> { Taint, CrashDumpReadiness, PanicSettings, HungTaskSettings };
        // Each partial file of this class contributes the checks of its area.
        list.AddRange(ResourceChecks);
        list.AddRange(MemoryAreaChecks);
        list.AddRange(LogChecks);
        return list.OrderBy(c => c.NeedsLive).ThenBy(c => c.CheckId, StringComparer.Ordinal).ToList();
    }

    internal static readonly HealthCheck Taint = new("KD1001", HealthArea.Kernel, "Kernel taint",
        "Decodes /proc/sys/kernel/tainted. D (the kernel died: an oops or BUG happened) is an error; W (a warning was issued), " +
        "L (soft lockup), M (machine check) and B (bad page) are warnings; P, O, E and other flags are information.",
        false, ctx =>
        {
            var t = ctx.Info.Taint;
            if (t is null) return [ctx.Finding(HealthSeverity.Info, "The taint value is not available.")];
            if (!t.IsTainted) return [ctx.Finding(HealthSeverity.Ok, "The kernel is not tainted.", value: 0, evidence: t)];
            var letters = t.Letters;
            var severity = letters.Contains('D') ? HealthSeverity.Error
                : letters.IndexOfAny(['W', 'L', 'M', 'B']) >= 0 ? HealthSeverity.Warning
                : HealthSeverity.Info;
            string rec = letters.Contains('D') || letters.Contains('W')
                ? "Find the report that tainted it: Get-KernelOops | Sort-Object Time | Select-Object -First 1 — taint flags stay set until reboot."
                : "Taint from modules (P/O/E) limits what upstream will debug; list them with Get-Content /proc/modules.";
            return [ctx.Finding(severity, $"The kernel is tainted: {string.Join("; ", t.Flags.Select(f => f.ToString()))}.", rec, t.Value, t)];
        });

    internal static readonly HealthCheck CrashDumpReadiness = new("KD1101", HealthArea.Crash, "Crash-dump readiness",
        "Will the next panic leave evidence? Looks for a loaded kdump crash kernel (/sys/kernel/kexec_crash_loaded) and a " +
        "registered pstore backend. Neither is a warning: an intermittent panic would leave nothing to read.",
        false, ctx =>
        {
            var info = ctx.Info;
            bool kdump = info.CrashKernelLoaded == true;
            bool pstore = info.PstoreBackend is not null;
            if (kdump && pstore)
                return [ctx.Finding(HealthSeverity.Ok, $"kdump is loaded ({FormatBytes(info.CrashKernelSize)} reserved) and pstore uses {info.PstoreBackend}.", evidence: info)];
            if (kdump)
                return [ctx.Finding(HealthSeverity.Ok, $"kdump is loaded ({FormatBytes(info.CrashKernelSize)} reserved); no pstore backend, so a panic that kdump cannot catch leaves no log.",
                    "Optionally add a pstore backend (efi_pstore on UEFI, or ramoops with CONFIG_PSTORE_RAM and a reserved region).", evidence: info)];
            if (pstore)
                return [ctx.Finding(HealthSeverity.Info, $"Only pstore ({info.PstoreBackend}) keeps the panic log; there is no crash kernel for a full dump.",
                    "For full dumps: boot with crashkernel=256M (CONFIG_KEXEC, CONFIG_CRASH_DUMP) and load it with kdump-tools (apt install kdump-tools).", evidence: info)];
            string why = info.CrashKernelLoaded is null ? "this kernel has no kexec support (no /sys/kernel/kexec_crash_loaded)" : "no crash kernel is loaded";
            return [ctx.Finding(HealthSeverity.Warning,
                $"The next panic will leave no evidence: {why}, and no pstore backend is registered.",
                "Enable kdump (CONFIG_KEXEC=y, CONFIG_CRASH_DUMP=y, boot with crashkernel=256M, apt install kdump-tools) or pstore " +
                "(CONFIG_PSTORE with efi_pstore or ramoops), then read crashes with Get-KernelOops -Path /var/crash/*/dmesg* or /sys/fs/pstore/*.",
                evidence: info)];
        });

    internal static readonly HealthCheck PanicSettings = new("KD1102", HealthArea.Crash, "Panic settings",
        "Reports kernel.panic, panic_on_oops, softlockup_panic, hung_task_panic and panic_on_warn. With kdump loaded, " +
        "panic_on_oops=0 is a warning (an oops then leaves a half-dead system instead of a dump); kernel.panic=0 with " +
        "panic_on_oops=1 is a warning (the machine hangs at the panic instead of rebooting).",
        false, ctx =>
        {
            int? Read(string name) => ctx.Root.TryReadValue("proc/sys/kernel/" + name) is { } s && int.TryParse(s, out int v) ? v : null;
            var settings = new PanicSettingsReading(Read("panic"), Read("panic_on_oops"), Read("softlockup_panic"), Read("hung_task_panic"), Read("panic_on_warn"));
            var findings = new List<KernelHealthFinding>();
            if (ctx.Info.CrashKernelLoaded == true && settings.PanicOnOops == 0)
                findings.Add(ctx.Finding(HealthSeverity.Warning, "kdump is loaded but kernel.panic_on_oops=0: an oops will not produce a dump.",
                    "sysctl -w kernel.panic_on_oops=1 (and persist it in /etc/sysctl.d/).", evidence: settings));
            if (settings.PanicOnOops == 1 && settings.Panic == 0)
                findings.Add(ctx.Finding(HealthSeverity.Warning, "kernel.panic_on_oops=1 but kernel.panic=0: after an oops the machine stops and never reboots.",
                    "sysctl -w kernel.panic=10 to reboot 10 s after a panic.", evidence: settings));
            if (findings.Count == 0)
                findings.Add(ctx.Finding(HealthSeverity.Ok, $"panic={Show(settings.Panic)} panic_on_oops={Show(settings.PanicOnOops)} softlockup_panic={Show(settings.SoftLockupPanic)} hung_task_panic={Show(settings.HungTaskPanic)} panic_on_warn={Show(settings.PanicOnWarn)}.", evidence: settings));
            return findings;
        });

    internal static readonly HealthCheck HungTaskSettings = new("KD1501", HealthArea.Locking, "Hung-task detector",
        "Checks that the hung-task watchdog is built in (CONFIG_DETECT_HUNG_TASK) and armed (kernel.hung_task_timeout_secs > 0), " +
        "so a task stuck in D state is reported in the log.",
        false, ctx =>
        {
            string? timeout = ctx.Root.TryReadValue("proc/sys/kernel/hung_task_timeout_secs");
            if (timeout is null)
                return [ctx.Finding(HealthSeverity.Info, "The hung-task detector is not built into this kernel.",
                    "Build with CONFIG_DETECT_HUNG_TASK=y to have tasks blocked for more than 120 s reported; meanwhile use Get-BlockedTask -Interval.")];
            if (timeout == "0")
                return [ctx.Finding(HealthSeverity.Warning, "The hung-task detector is disabled (kernel.hung_task_timeout_secs=0).",
                    "sysctl -w kernel.hung_task_timeout_secs=120", 0)];
            return [ctx.Finding(HealthSeverity.Ok, $"Tasks blocked for more than {timeout} s are reported.", value: double.TryParse(timeout, out var t) ? t : null)];
        });

    private static string Show(int? v) => v?.ToString() ?? "n/a";

    internal static string FormatBytes(long? bytes) => bytes switch
    {
        null => "unknown size",
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.#} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.#} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.#} KiB",
        _ => $"{bytes} B",
    };
}

/// <summary>The kernel's panic-related sysctls (null where the kernel lacks one).</summary>
public sealed record PanicSettingsReading(int? Panic, int? PanicOnOops, int? SoftLockupPanic, int? HungTaskPanic, int? PanicOnWarn);
