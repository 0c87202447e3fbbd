namespace KernelDebug.TestSupport;

/// <summary>
/// A machine's journal over five boots, written by systemd-journal-remote into two files (the second in a machine-id
/// subdirectory, as journald keeps them): a clean reboot, a panic, a WARNING then a clean power-off, a hung task near
/// the end then silence, and a last boot cut short. Each boot has kernel and user-space entries.
/// </summary>
public sealed class JournalScenario : IDisposable
{
    public const string Reboot = "11111111111111111111111111111111", Panic = "22222222222222222222222222222222",
        Shutdown = "33333333333333333333333333333333", Hung = "44444444444444444444444444444444", CutShort = "55555555555555555555555555555555";
    public static readonly string[] Boots = [Reboot, Panic, Shutdown, Hung, CutShort];
    public static readonly DateTimeOffset Start = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);
    public const string Release = "6.1.0-18-amd64";

    public static readonly string[] PanicReport =
    [
        "BUG: kernel NULL pointer dereference, address: 0000000000000010",
        "#PF: supervisor read access in kernel mode",
        "#PF: error_code(0x0000) - not-present page",
        "PGD 0 P4D 0 ",
        "Oops: 0000 [#1] PREEMPT SMP NOPTI",
        "CPU: 3 PID: 1234 Comm: kworker/3:1 Not tainted 6.1.0-18-amd64 #1  Debian 6.1.76-1",
        "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
        "Workqueue: events nvme_reset_work [nvme]",
        "RIP: 0010:nvme_setup_io_queues+0x1a3/0x4c0 [nvme]",
        "RSP: 0018:ffffb1c0c0b37d70 EFLAGS: 00010246",
        "RAX: 0000000000000000 RBX: ffff9a0b4a8e0000 RCX: 0000000000000000",
        "Call Trace:",
        " <TASK>",
        " nvme_reset_work+0x5c3/0x1150 [nvme]",
        " process_one_work+0x1c7/0x380",
        " worker_thread+0x4d/0x380",
        " kthread+0xd7/0x100",
        " ret_from_fork+0x1f/0x30",
        " </TASK>",
        "Modules linked in: nvme nvme_core",
        "CR2: 0000000000000010",
        "---[ end trace 0000000000000000 ]---",
        "Kernel panic - not syncing: Fatal exception",
    ];

    public static readonly string[] WarningReport =
    [
        "------------[ cut here ]------------",
        "WARNING: CPU: 1 PID: 77 at drivers/gpu/drm/drm_vblank.c:1234 drm_wait_one_vblank+0x1b0/0x1c0",
        "Modules linked in: i915",
        "CPU: 1 PID: 77 Comm: kworker/1:2 Not tainted 6.1.0-18-amd64 #1",
        "RIP: 0010:drm_wait_one_vblank+0x1b0/0x1c0",
        "Call Trace:",
        " <TASK>",
        " drm_crtc_wait_one_vblank+0x17/0x20",
        " intel_crtc_disable_noatomic+0x1a/0x30 [i915]",
        " </TASK>",
        "---[ end trace 0000000000000000 ]---",
    ];

    public static readonly string[] HungReport =
    [
        "INFO: task jbd2/sda1-8:312 blocked for more than 120 seconds.",
        "      Not tainted 6.1.0-18-amd64 #1",
        "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.",
        "task:jbd2/sda1-8     state:D stack:0     pid:312   ppid:2      flags:0x00004000",
        "Call Trace:",
        " <TASK>",
        " __schedule+0x34d/0x9e0",
        " schedule+0x5a/0xd0",
        " io_schedule+0x42/0x70",
        " bit_wait_io+0xd/0x60",
        " __wait_on_bit+0x4b/0x140",
        " out_of_line_wait_on_bit+0x91/0xb0",
        " jbd2_journal_commit_transaction+0x1693/0x1a90 [jbd2]",
        " kjournald2+0xa9/0x280 [jbd2]",
        " kthread+0xd7/0x100",
        " ret_from_fork+0x1f/0x30",
        " </TASK>",
    ];

    private readonly JournalFixture _fixture;

    public string Directory => _fixture.Directory;
    public string FirstFile { get; }
    public string SecondFile { get; }
    public IReadOnlyList<ExportEntry> Entries { get; }

    /// <summary>When each boot started (its first entry).</summary>
    public static DateTimeOffset BootTime(int index) => Start.AddDays(index);

    private JournalScenario(JournalFixture fixture, string first, string second, IReadOnlyList<ExportEntry> entries)
    {
        _fixture = fixture;
        FirstFile = first;
        SecondFile = second;
        Entries = entries;
    }

    public static JournalScenario Create(string? under = null)
    {
        var f = JournalFixture.Create();
        var boots = Boots.Select((b, i) => Boot(b, i).ToList()).ToList();
        string sub = under is null ? "" : under + "/";
        string first = f.Write($"{sub}{JournalFixture.MachineId}/system@0001.journal", boots[0].Concat(boots[1]));
        string second = f.Write($"{sub}{JournalFixture.MachineId}/system.journal", boots[2].Concat(boots[3]).Concat(boots[4]));
        return new JournalScenario(f, first, second, boots.SelectMany(b => b).ToArray());
    }

    private static IEnumerable<ExportEntry> Boot(string boot, int index)
    {
        var t0 = BootTime(index);
        var at = TimeSpan.FromSeconds(0.5);
        TimeSpan Next(double ms = 3) => at += TimeSpan.FromMilliseconds(ms);
        ExportEntry K(string m, int prio = 6) => JournalFixture.Kernel(boot, t0, Next(), m, prio);
        ExportEntry S(string id, string m, int prio = 6) => JournalFixture.Service(boot, t0, Next(), id, m, prio);

        yield return K($"Linux version {Release} (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)", 5);
        yield return K("Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro quiet");
        yield return K("x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'");
        yield return K("nvme nvme0: 4/0/0 default/read/poll queues");
        yield return K("EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.");
        yield return S("systemd-journald", "Journal started");
        yield return S("systemd", "Started systemd-udevd.service - Rule-based Manager for Device Events and Files.");
        yield return S("sshd", "Server listening on 0.0.0.0 port 22.");
        yield return K("e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex", 6);
        at += TimeSpan.FromHours(5);
        switch (boot)
        {
            case Reboot:
                yield return S("systemd-logind", "System is rebooting.");
                yield return S("systemd", "Stopping sshd.service - OpenBSD Secure Shell server...");
                yield return S("systemd", "Reached target reboot.target - System Reboot.");
                yield return S("systemd-shutdown", "Syncing filesystems and block devices.");
                yield return K("reboot: Restarting system", 5);
                break;
            case Panic:
                foreach (var l in PanicReport) yield return K(l, l.StartsWith("Kernel panic", StringComparison.Ordinal) ? 0 : 4);
                break;
            case Shutdown:
                foreach (var l in WarningReport) yield return K(l, 4);
                at += TimeSpan.FromHours(1);
                yield return S("systemd-logind", "System is powering down.");
                yield return S("systemd", "Reached target poweroff.target - System Power Off.");
                yield return S("systemd-journald", "Journal stopped");
                yield return K("reboot: Power down", 5);
                break;
            case Hung:
                yield return S("cron", "(root) CMD (run-parts /etc/cron.hourly)");
                foreach (var l in HungReport) yield return K(l, 3);
                yield return S("sshd", "Timeout, client not responding from user admin 10.0.0.7 port 52514");
                break;
            case CutShort:
                yield return S("cron", "(root) CMD (run-parts /etc/cron.hourly)");
                yield return K("perf: interrupt took too long (2503 > 2500), lowering kernel.perf_event_max_sample_rate to 79750", 4);
                break;
        }
    }

    public void Dispose() => _fixture.Dispose();
}
