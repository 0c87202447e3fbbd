using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;

namespace KernelDebug.Core.Health;

// Checks on the kernel log: crash reports, error counts, OOM kills, segfault storms. The log is read once per run.
public static partial class HealthChecks
{
    private static HealthCheck[] LogChecks => [CrashReports, PreviousBoot, LogErrors, OomKills, SegfaultStorm];

    private static IReadOnlyList<KernelMessage> Log(HealthContext ctx) =>
        ctx.Get("kmsg", () => KernelLog.ReadDevice(ctx.Root, ctx.Issues, follow: false, ctx.Cancel).ToList());

    private static IReadOnlyList<KernelOops> Oopses(HealthContext ctx) =>
        ctx.Get("oops", () => KernelOopsParser.Parse(Log(ctx), ctx.Issues).ToList());

    // The origin tool's patterns, counted the same way (case-insensitive, per message) so numbers compare.
    private static readonly (string Name, string Needle)[] ErrorPatterns =
    [
        ("Oops", "Oops:"), ("BUG", "BUG:"), ("WARNING", "WARNING:"), ("Call Trace", "Call Trace:"), ("RIP", "RIP:"),
        ("segfault", "segfault"), ("killed", "killed"), ("Out of memory", "Out of memory"), ("hung task", "hung task"),
        ("soft lockup", "soft lockup"), ("hard lockup", "hard lockup"),
    ];

    internal static readonly HealthCheck CrashReports = new("KD1103", HealthArea.Crash, "Crash reports in the log",
        "Finds every crash report in the kernel log since boot with Get-KernelOops and groups them by signature. A panic is critical; " +
        "BUG, oops, page faults, sanitizer reports, lockdep, hung tasks, stalls and lockups are errors; WARNINGs alone are a warning.",
        false, ctx =>
        {
            var oopses = Oopses(ctx);
            if (oopses.Count == 0) return [ctx.Finding(HealthSeverity.Ok, $"No crash report in {Log(ctx).Count} log messages.", value: 0)];
            var sev = oopses.Any(o => o.Panicked) ? HealthSeverity.Critical
                : oopses.Any(o => o.Kind != OopsKind.Warning) ? HealthSeverity.Error : HealthSeverity.Warning;
            var groups = oopses.GroupBy(o => o.Signature).OrderByDescending(g => g.Count()).ToList();
            string kinds = string.Join(", ", oopses.GroupBy(o => o.Kind).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} {g.Key}"));
            string recent = string.Join("; ", oopses.OrderByDescending(o => o.Uptime ?? TimeSpan.Zero).Take(3).Select(o => o.Title));
            string rec = sev == HealthSeverity.Warning
                ? "Group them: Get-KernelOops | Group-Object Signature | Sort-Object Count -Descending; each WARN_ON names a broken assumption in the guilty function."
                : "Group them (Get-KernelOops | Group-Object Signature), read the first one in full (Format-List Title, GuiltyFrame, Frames, Modules), " +
                  "and search the title in the kernel's bug trackers; enable kdump so the next one leaves a dump (KD1101).";
            return [ctx.Finding(sev, $"{oopses.Count} crash report(s), {groups.Count} distinct: {kinds}. Most recent: {recent}.", rec, oopses.Count, [.. oopses.Take(50)])];
        });

    internal static readonly HealthCheck LogErrors = new("KD1201", HealthArea.Log, "Kernel log errors",
        "Counts messages at level err or more severe, and the origin tool's error patterns (Oops, BUG, WARNING, Call Trace, RIP, segfault, " +
        "killed, Out of memory, hung task, soft/hard lockup), with a chart. Information: the crash, OOM and segfault checks judge them.",
        false, ctx =>
        {
            var log = Log(ctx);
            int severe = log.Count(m => m.Level is <= KernelLogLevel.Error);
            var counts = ErrorPatterns.Select(p => (p.Name, Count: log.Count(m => m.Text.Contains(p.Needle, StringComparison.OrdinalIgnoreCase))))
                .Where(p => p.Count > 0).ToList();
            var chart = new ReportChart("Kernel log error patterns", "count", "bar", counts.Select(p => new ChartPoint(p.Name, p.Count)).ToList());
            string patterns = counts.Count == 0 ? "no error pattern" : string.Join(", ", counts.Select(p => $"{p.Name} {p.Count}"));
            var recentErrors = log.Where(m => m.Level is <= KernelLogLevel.Error).TakeLast(10).ToList();
            return [ctx.Finding(severe == 0 && counts.Count == 0 ? HealthSeverity.Ok : HealthSeverity.Info,
                $"{log.Count} messages, {severe} at err or worse; {patterns}.",
                severe == 0 ? null : "Read them: Get-KernelMessage -MinimumLevel Error | Select-Object -Last 20.", severe, [.. recentErrors, chart])];
        });

    internal static readonly HealthCheck OomKills = new("KD1202", HealthArea.Memory, "OOM kills",
        "OOM-killer events in the log with Get-KernelOomEvent: the victim, its memory, and whether a cgroup limit (memcg) or the whole " +
        "machine ran out. Any kill is a warning; a machine-wide one is an error.",
        false, ctx =>
        {
            var events = ctx.Get("oom", () => OomEventParser.Parse(Log(ctx), ctx.Issues, ctx.Root.PageSize).ToList());
            if (events.Count == 0) return [ctx.Finding(HealthSeverity.Ok, "No OOM kill since boot.", value: 0)];
            var global = events.Where(e => e.Constraint == OomConstraint.None).ToList();
            string victims = string.Join(", ", events.Where(e => e.VictimCommand is not null).GroupBy(e => e.VictimCommand).Select(g => $"{g.Key} ×{g.Count()}"));
            var sev = global.Count > 0 ? HealthSeverity.Error : HealthSeverity.Warning;
            string rec = global.Count > 0
                ? "The machine ran out of memory: find the grower with Get-Process | Sort-Object WorkingSet64 -Descending, check slab (Get-SlabCache -Top 10) " +
                  "and consider swap or zram (KD1303); set oom_score_adj on processes that must survive."
                : "A cgroup hit its memory limit: raise memory.max for it or fix the leak; Get-KernelOomEvent | Format-List shows the cgroup and its usage.";
            return [ctx.Finding(sev, $"{events.Count} OOM event(s) ({global.Count} machine-wide); killed: {(victims.Length == 0 ? "none" : victims)}.", rec, events.Count, [.. events])];
        });

    internal static readonly HealthCheck SegfaultStorm = new("KD1203", HealthArea.Log, "Segfault storm",
        "Counts user-space crashes the kernel logged ('segfault at', 'general protection fault ip:', 'trap invalid opcode'). At SegfaultStormCount (20) " +
        "it is a warning: a crash loop, often a bad library or a failing memory module.",
        false, ctx =>
        {
            var faults = Log(ctx).Where(m => m.Text.Contains(" segfault at ", StringComparison.Ordinal) ||
                                             (m.Text.Contains("general protection fault ip:", StringComparison.Ordinal)) ||
                                             m.Text.Contains("trap invalid opcode ip:", StringComparison.Ordinal)).ToList();
            if (faults.Count == 0) return [ctx.Finding(HealthSeverity.Ok, "No user-space segfault logged.", value: 0)];
            // "app[1234]: segfault at ..." — the command is the text before '['.
            string top = string.Join(", ", faults.Select(f => f.Text.Split('[')[0].Trim()).GroupBy(n => n).OrderByDescending(g => g.Count()).Take(5).Select(g => $"{g.Key} ×{g.Count()}"));
            var sev = faults.Count >= ctx.Thresholds.SegfaultStormCount ? HealthSeverity.Warning : HealthSeverity.Info;
            return [ctx.Finding(sev, $"{faults.Count} user-space crash(es) logged: {top}.",
                sev == HealthSeverity.Warning ? "A crash loop: check the service's restarts (systemctl status); the same fault address across programs points at a shared library or bad RAM (KD1602)." : null,
                faults.Count, [.. faults.TakeLast(20)])];
        });
}
