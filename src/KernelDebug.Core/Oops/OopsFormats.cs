using System.Text.RegularExpressions;

namespace KernelDebug.Core.Oops;

/// <summary>How the guilty frame is chosen among the frames left after skipping.</summary>
internal enum FrameExtractor
{
    /// <summary>The first frame that is not skipped.</summary>
    First,
    /// <summary>Stalls and lockups: the frame just above the first dispatch point (syscall entry, workqueue, timer ...).</summary>
    Stall,
    /// <summary>Hung tasks: group waits on rtnl_lock / synchronize_rcu, else the first frame that is not a wait primitive.</summary>
    HungTask,
}

/// <summary>Where the guilty frame is in a report: parts matched in order, <see cref="OopsFormats.Stack"/> parses a trace.</summary>
internal sealed class StackSpec
{
    public string[] Parts = [];
    /// <summary>Tried when <see cref="Parts"/> finds no frame.</summary>
    public string[]? Parts2;
    /// <summary>Extra skip patterns (regex, matched anywhere in the function name) on top of the common ones.</summary>
    public string[] Skip = [];
    public FrameExtractor Extractor = FrameExtractor.First;
    /// <summary>Only <see cref="Skip"/> applies, not the common list (the frame is known to be a check's own).</summary>
    public bool NoCommonSkip;

    internal Regex?[] P1 = [];
    internal Regex?[]? P2;
    internal NameMatcher SkipRe = null!;
}

/// <summary>One report kind: title pattern, optional full-report pattern, title template, stack rule, corruption rule.</summary>
internal sealed class OopsFormat
{
    public required OopsKind Kind;
    /// <summary>Matched against the report; the earliest match among a header's formats wins.</summary>
    public required string Title;
    /// <summary>When set, must also match (else the report is corrupted); its named groups feed the template.</summary>
    public string? Report;
    /// <summary>Title template: <c>{name}</c> is a named group, <c>{frame}</c>/<c>{frame2}</c> the extracted frames.</summary>
    public required string Template;
    public string[] Alt = [];
    public StackSpec? Stack;
    /// <summary>Used instead when the report holds no trace at all and <see cref="Stack"/> finds no frame (a paste cut short).</summary>
    public OopsFormat? Cut;
    /// <summary>The report legitimately carries no call trace.</summary>
    public bool NoStackTrace;
    /// <summary>Matching this format means the report is damaged (e.g. only half a header printed).</summary>
    public bool Corrupted;

    internal Regex TitleRe = null!;
    internal Regex? ReportRe;
}

/// <summary>A group of formats sharing one literal header, checked by a cheap substring search first.</summary>
internal sealed class OopsHeader
{
    public required string Header;
    public required OopsFormat[] Formats;
    /// <summary>Lines with the header that are not reports (regex).</summary>
    public string[] Suppressions = [];
    /// <summary>This header may appear inside another report and then does not start a new one.</summary>
    public bool ContinuesReport;

    internal Regex[] SuppressionRes = [];
}

/// <summary>
/// The crash-report tables (data, not code): every kind the kernel prints, how it is titled and where its
/// guilty frame is. Titles follow syzkaller's conventions so results compare with its public corpus.
/// </summary>
/// <remarks>
/// Attribution: the title conventions, and many header and frame patterns here, follow the crash-format tables of
/// syzkaller's pkg/report (https://github.com/google/syzkaller, Apache License 2.0, Copyright syzkaller project
/// authors), studied and re-expressed in this project's own table layout.
/// </remarks>
internal static class OopsFormats
{
    public const string Stack = "{{STACK}}";
    // The selector is hex: 0010 on bare metal, e030 in a Xen PV guest. decode_stacktrace.sh writes "func (file.c:12)".
    private const string Rip = @"(?:IP|NIP|pc |PC is at):? (?:(?:[0-9a-f]{1,4}:)?(?:{{PC}} +){0,2}(?:{{FUNC}}|(?<func>[a-zA-Z0-9_]+) \([a-zA-Z0-9_/.\-]+:[0-9]+)|(?:[0-9a-f]{1,4}:)?0x[0-9a-f]+|(?:[0-9a-f]{1,4}:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))";
    private const string CallTrace = @"(?:Call (?:T|t)race:)|(?:Backtrace:)";

    private static StackSpec S(string[] parts, params string[] skip) => new() { Parts = parts, Skip = skip };
    private static StackSpec RipStack(params string[] skip) => S([Rip, CallTrace, Stack], skip);
    private static StackSpec CallStack(params string[] skip) => S([CallTrace, Stack], skip);
    private static StackSpec WarnStack(params string[] skip) => new()
    {
        // Newer kernels trap on WARN and print RIP first; older ones only print the trace.
        Parts = ["(?:" + Rip + "|--- interrupt: [0-9]+ at {{FUNC}})", Stack],
        Parts2 = [CallTrace, Stack],
        Skip = skip,
    };

    /// <summary>A panic's trace: the first caller of panic() that is not infrastructure is where it was decided.</summary>
    public static readonly StackSpec PanicStack = CallStack("^vpanic$", "^nmi_panic", "^oops_end$", "^die$", "^__die");

    /// <summary>Lines that begin a stack trace section.</summary>
    public static readonly Regex[] StackStarts =
    [
        new(@"Call (?:T|t)race"), new("Allocated:"), new("Allocated by task [0-9]+:"), new("Freed:"),
        new("Freed by task [0-9]+:"), new(@"[^k] backtrace(?: \(crc [0-9a-f]*\))?:"), new("Backtrace:"),
        new("Uninit was stored to memory at"),
    ];
    /// <summary>riscv prints the registers then the trace with no keyword: a trace start that may carry no frames.</summary>
    public static readonly Regex RiscvStackStart = new("status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}");

    /// <summary>A frame line: x86/arm64 <c>[&lt;pc&gt;] func+0x1/0x2</c>, and arm's <c>(func) from (func)</c>.</summary>
    public static readonly Regex[] FrameLines =
    [
        OopsRegex.Compile("^ *(?:{{PC}} ){0,2}{{FUNC}}"),
        // arm: "(callee) from (caller+0x1/0x2)"; older kernels and module symbols print "(callee+0x1/0x2 [mod]) from".
        OopsRegex.Compile(@"^ *{{PC}} \((?<callee>[a-zA-Z0-9_.]+?)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?(?: \[[^\]]+\])?\) from {{PC}} \({{FUNC}}"),
        // decode_stacktrace.sh: "func (file.c:123)", inlined "func (file.c:123 (discriminator 2))".
        OopsRegex.Compile(@"^ *(?:\? )?(?:{{PC}} ){0,2}(?<func>[a-zA-Z0-9_]+)(?:\.[a-zA-Z0-9_.]+)? \([a-zA-Z0-9_/.\-]+\.[a-zA-Z]+:[0-9]+"),
    ];

    /// <summary>Fault injection stacks interleave with reports and make them untrustworthy.</summary>
    public static readonly Regex CorruptedLine = OopsRegex.Compile(@"^(?: \[<?(?:0x)?[0-9a-f]+>?\])? should_fail(?:slab)?(?:\.[a-z0-9.]+)?\+0x");

    /// <summary>Reporting, locking, allocation, string and entry infrastructure: never the guilty frame.</summary>
    public static readonly string[] CommonSkip =
    [
        "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint", "check_memory_region",
        "check_heap_object", "check_object", "read_word_at_a_time", "(read|write)_once_.*nocheck",
        "print_address_description", "panic", "invalid_op", "report_bug", "fixup_bug", "print_report", "print_usage_bug",
        "do_error", "_trap$|do_trap", "show_stack", "dump_stack", "walk_stack", "dump_backtrace", "warn_slowpath",
        "warn_alloc", "warn_bogus", "__warn", "alloc_page", "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache", "allocate_slab",
        "__alloc_frozen_pages_noprof", "folio_(?:alloc|unlock)", "filemap_alloc_folio", "__filemap_get_folio",
        "find_or_create_page", "do_read_cache_folio", "read_cache_page", "pagecache_get_page",
        "grab_cache_page_write_begin", "slab_", "debug_object", "timer_is_static_object", "work_is_static_object",
        "__might_fault", "print_unlock", "imbalance_bug", "lockdep", "bh_enable", "bh_disable", "perf_trace",
        "lock_acquire", "lock_release", "lock_class", "mark_lock", "(reacquire|mark)_held_locks", "raw_spin_rq",
        "spin_lock", "spin_trylock", "spin_unlock", "read_lock", "read_trylock", "write_lock", "write_trylock",
        "read_unlock", "write_unlock", "^down$", "down_read", "down_write", "down_trylock", "up_read", "up_write",
        "^mutex_", "^__mutex_", "^rt_mutex_", "owner_on_cpu", "osq_lock", "osq_unlock",
        "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)", "(set|clear|change|test)_bit",
        "__wake_up", "^refcount_", "^kref_", "ref_tracker", "seqprop_assert", "memcpy", "memcmp", "memset", "memchr",
        "memmove", "memdup", "strcmp", "strncmp", "strcpy", "strlcpy", "strncpy", "strscpy", "strlen", "strstr",
        "strnstr", "strnlen", "strchr", "strdup", "strndup", "copy_to_user", "copy_from_user", "copy_to_iter",
        "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "copy_folio_to_iter", "^copyin$", "^copyout$",
        "put_user", "get_user", "might_fault", "might_sleep", "list_add", "list_del", "list_replace", "list_move",
        "list_splice", "^rb_", "^__rb_", "_indirect_thunk_", "string", "pointer", "snprintf", "scnprintf", "kasprintf",
        "kvasprintf", "printk", "va_format", "dev_info", "dev_notice", "dev_warn", "dev_err", "dev_alert", "dev_crit",
        "dev_emerg", "program_check_exception", "program_check_common", "del_timer", "flush_work",
        "__cancel_work_timer", "cancel_work_sync", "try_to_grab_pending", "flush_workqueue", "drain_workqueue",
        "destroy_workqueue", "queue_work", "finish_wait", "kthread_stop", "kobject_", "add_uevent_var",
        "get_device_parent", "device_add", "device_del", "device_unregister", "device_destroy", "device_release",
        "devres_release_all", "hwrng_unregister", "i2c_del_adapter", "__unregister_client", "device_for_each_child",
        "rollback_registered", "unregister_netdev", "sysfs_remove", "device_remove_file", "tty_unregister_device",
        "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs", "usb_control_msg", "usb_hcd_submit_urb",
        "usb_submit_urb", "^complete$", "wait_for_completion", "^kv?free$", "kfree_skb", "readb$", "readw$", "readl$",
        "readq$", "writeb$", "writew$", "writel$", "writeq$", "logic_in", "logic_out", @"^crc\d+", "crc_itu_t",
        "__might_resched", "assertfail", "^iput$", "^iput_final$", "^ihold$", "hex_dump_to_buffer", "print_hex_dump",
        "^klist_", "(trace|lockdep)_(hard|soft)irq", "^(un)?lock_page", "stack_trace_consume_entry", "arch_stack_walk",
        "stack_trace_save", "insert_work", "__queue_delayed_work", "queue_delayed_work_on", "ida_free",
        "do_(kernel|translation)_fault", "do_mem_abort", "el1_abort", "el1h_64_sync(?:_handler)?", "print_tainted",
        "xas_(?:start|load|find)", "find_lock_entries", "truncate_inode_pages_range", "__phys_addr", "__fortify_report",
        "cleanup_srcu_struct", "rhashtable_lookup", "extract_(user|iter)_to_sg", "drop_nlink", "^get_taint$",
        "^put_device$", "lock_timer_base", "__timer_delete_sync", "sk_stop_timer_sync", "__mod_timer", "fast_dput",
        "dput", "mark_buffer_dirty", "rust_begin_unwind",
    ];

    /// <summary>The common skip list, built once (its few real regexes compiled: every frame of every report meets them).</summary>
    public static readonly NameMatcher CommonSkipMatcher = new(CommonSkip, compiled: true);

    /// <summary>Syscall and wrapper prefixes: the same call is named differently per arch and kernel version.</summary>
    public static readonly string[] StripPrefixes =
    [
        "SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_", "___sys_", "__sys_", "__se_", "__se_sys_",
        "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_",
    ];

    /// <summary>Dispatch points: in a stall the frame just above one of these names the looping code.</summary>
    public static readonly Regex StallAnchors = new(string.Join("|",
    [
        "process_one_work", "do_syscall_", "do_fast_syscall_", "sysenter_dispatch", "tracesys_phase2", "el0_svc_handler",
        "invoke_syscall", "ret_fast_syscall", "netif_receive_skb", "do_softirq", "call_timer_fn", "_run_timers",
        "run_timer_softirq", "hrtimer_run", "run_ksoftirqd", "smpboot_thread_fn", "^kthread$", "start_secondary",
        "cpu_startup_entry", "ret_from_fork", "vfs_write", "vfs_read", "vfs_iter_read", "vfs_iter_write",
        "do_iter_read", "do_iter_write", "call_read_iter", "call_write_iter", "new_sync_read", "new_sync_write",
        "vfs_ioctl", "ksys_ioctl", "compat_ioctl", "compat_sys_ioctl", "blkdev_driver_ioctl", "blkdev_ioctl",
        "do_iter_readv_writev", "^call_mmap", "mmap_region", "do_mmap", "do_dentry_open", "vfs_open", "^sock_sendmsg",
        "^sock_recvmsg", "^sock_release", "^__sock_release", "^setsockopt$", "kernel_setsockopt",
        "sock_common_setsockopt", "^listen$", "kernel_listen", "sk_common_release", "^sock_mmap", "^accept$",
        "kernel_accept", "^sock_do_ioctl", "^sock_ioctl", "^compat_sock_ioctl", "^nfnetlink_rcv_msg",
        "^rtnetlink_rcv_msg", "^netlink_dump", "^(sys_)?(socketpair|connect|ioctl)", "__do_fault", "do_page_fault",
        "^page_fault$", "__fput", "task_work_run", "exit_to_usermode", "smp_call_function", "tasklet_action",
        "tasklet_hi_action",
    ]), RegexOptions.CultureInvariant);

    /// <summary>Headers that may sit inside another report (printed by the same crash) and so never start a second one.</summary>
    public static readonly string[] ReportStartIgnores =
    [
        "invalid opcode: 0000", "Kernel panic - not syncing", "unregister_netdevice: waiting for", "PANIC: double fault",
        "Internal error:", "Oops:", "unreferenced object 0x",
    ];

    /// <summary>Informational messages with a stack: inside a report they mean another report interleaves.</summary>
    public static readonly string[] InfoMessagesWithStack =
        ["vmalloc: allocation failure:", "FAULT_INJECTION: forcing a failure", "FAULT_FLAG_ALLOW_RETRY missing"];

    /// <summary>A timestamp inside a title means lines got merged.</summary>
    public static readonly Regex CorruptedTitle = new(@"\[ *[0-9]+\.[0-9]+\]");

    public static readonly OopsHeader[] Headers =
    [
        new()
        {
            Header = "BUG:",
            Suppressions = ["ODEBUG:", "Boot_DEBUG:", "xlog_status:", "DEBUG:", "BUG: no syscalls can create resource"],
            Formats =
            [
                new() { Kind = OopsKind.Kasan, Title = "BUG: KASAN:",
                    Report = @"BUG: KASAN: (?<bug>[a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(?<access>Read|Write) (?:of size|at addr) (?:[0-9a-f]+)",
                    Template = "KASAN: {bug} {access} in {frame}", Alt = ["bad-access in {frame}"],
                    // kernel_fault..el1h_: KASAN_HW_TAGS reports go through the arm64 fault path.
                    Stack = S([@"BUG: KASAN: (?:[a-z\-]+) in {{FUNC}}", CallTrace, Stack], "kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_") },
                new() { Kind = OopsKind.Kasan, Title = "BUG: KASAN:",
                    Report = "BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}",
                    Template = "KASAN: invalid-free in {frame}", Alt = ["invalid-free in {frame}"],
                    Stack = S(["BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}", CallTrace, Stack], "slab_", "kfree", "vunmap", "vfree") },
                new() { Kind = OopsKind.Kasan, Title = @"BUG: KASAN: (?<bug>[a-z\-]+) on address(?:.*\n)+?.*(?<access>Read|Write) of size (?<size>[0-9]+)",
                    Template = "KASAN: {bug} {access}" },
                new() { Kind = OopsKind.Kasan, Title = "BUG: KASAN: (?<rest>.*)", Template = "KASAN: {rest}", Corrupted = true },
                new() { Kind = OopsKind.Kmsan, Title = "BUG: KMSAN: kernel-usb-infoleak", Report = "BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}",
                    Template = "KMSAN: kernel-usb-infoleak in {frame}", Alt = ["KMSAN origin in {frame2}"], NoStackTrace = true,
                    Stack = S([Stack, "(?:Local variable .* created at:|Uninit was created at:)", Stack],
                        "alloc_skb", "usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg") },
                new() { Kind = OopsKind.Kmsan, Title = "BUG: KMSAN:", Report = @"BUG: KMSAN: (?<bug>[a-z\-]+) in {{FUNC}}",
                    Template = "KMSAN: {bug} in {frame}", Alt = ["bad-access in {frame}"], NoStackTrace = true,
                    // Crypto routines are where uninit data is found, not where it comes from.
                    Stack = S([Stack, "(?:Local variable .* created at:|Uninit was created at:)", Stack],
                        "alloc_skb", "netlink_ack", "netlink_rcv_skb", "_encrypt$", "^(?:crypto|cipher|drbg|rng)_") },
                new() { Kind = OopsKind.Kcsan, Title = "BUG: KCSAN: data-race", Report = "BUG: KCSAN: (?<rest>.*)", Template = "KCSAN: {rest}", NoStackTrace = true },
                new() { Kind = OopsKind.Kcsan, Title = "BUG: KCSAN:", Report = "BUG: KCSAN: (?<rest>.*)", Template = "KCSAN: {rest}", NoStackTrace = true },
                new() { Kind = OopsKind.Kfence, Title = "BUG: KFENCE: (?<bug>use-after-free|out-of-bounds) (?<access>read|write) in {{FUNC}}",
                    Template = "KFENCE: {bug} {access} in {frame}", Alt = ["bad-access in {frame}"],
                    Stack = S([@"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}", Stack]) },
                new() { Kind = OopsKind.Kfence, Title = "BUG: KFENCE: invalid free in {{FUNC}}", Template = "KFENCE: invalid free in {frame}",
                    Alt = ["invalid-free in {frame}"], NoStackTrace = true, Stack = S([@"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}", Stack]) },
                new() { Kind = OopsKind.Kfence, Title = "BUG: KFENCE: invalid (?<access>read|write) in {{FUNC}}", Template = "KFENCE: invalid {access} in {frame}",
                    Alt = ["bad-access in {frame}"], Stack = S([@"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}", Stack]) },
                new() { Kind = OopsKind.Kfence, Title = "BUG: KFENCE: memory corruption in {{FUNC}}", Template = "KFENCE: memory corruption in {frame}",
                    NoStackTrace = true, Stack = S([@"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}", Stack]) },
                new() { Kind = OopsKind.PageFault, Title = "BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)",
                    Template = "BUG: unable to handle kernel paging request in {frame}", Alt = ["bad-access in {frame}"], Stack = RipStack() },
                new() { Kind = OopsKind.NullPointerDereference, Title = "BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)",
                    Template = "BUG: unable to handle kernel NULL pointer dereference in {frame}", Alt = ["bad-access in {frame}"], Stack = RipStack() },
                // The header is two printk calls; only the first half got out.
                new() { Kind = OopsKind.PageFault, Title = "BUG: (?:unable to handle kernel|Unable to handle kernel)", Template = "BUG: unable to handle kernel", Corrupted = true },
                new() { Kind = OopsKind.Lockdep, Title = "BUG: (?<lock>spinlock|rwlock) (?<bug>lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",
                    Template = "BUG: {lock} {bug} in {frame}", Stack = CallStack("spin_", "_lock", "_unlock") },
                new() { Kind = OopsKind.SoftLockup, Title = "BUG: soft lockup", Template = "BUG: soft lockup in {frame}", Alt = ["stall in {frame}"],
                    Stack = new() { Parts = [Rip, CallTrace, Stack], Extractor = FrameExtractor.Stall } },
                new() { Kind = OopsKind.Lockdep, Title = "BUG: .*still has locks held!", Report = @"BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}}",
                    Template = "BUG: still has locks held in {func}" },
                new() { Kind = OopsKind.AtomicSleep, Title = "BUG: scheduling while atomic", Template = "BUG: scheduling while atomic in {frame}", Stack = CallStack("schedule") },
                new() { Kind = OopsKind.Lockdep, Title = "BUG: lock held when returning to user space",
                    Report = @"BUG: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
                    Template = "BUG: lock held when returning to user space in {func}", NoStackTrace = true },
                new() { Kind = OopsKind.Lockdep, Title = "BUG: bad unlock balance detected!", Template = "BUG: bad unlock balance in {frame}",
                    Stack = S(["{{PC}} +{{FUNC}}", CallTrace, Stack]) },
                new() { Kind = OopsKind.Lockdep, Title = "BUG: held lock freed!", Report = @"BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}}", Template = "BUG: held lock freed in {func}" },
                new() { Kind = OopsKind.Bug, Title = "BUG: Bad rss-counter state", Template = "BUG: Bad rss-counter state", NoStackTrace = true },
                new() { Kind = OopsKind.Bug, Title = "BUG: non-zero nr_ptes on freeing mm", Template = "BUG: non-zero nr_ptes on freeing mm", NoStackTrace = true },
                new() { Kind = OopsKind.Bug, Title = "BUG: non-zero nr_pmds on freeing mm", Template = "BUG: non-zero nr_pmds on freeing mm", NoStackTrace = true },
                // Block device names (loop0, loop1 ...) would split one bug into many: left out of the title.
                new() { Kind = OopsKind.Bug, Title = "BUG: Dentry .* still in use", Report = @"BUG: Dentry .* still in use \([0-9]+\) \[(?<op>unmount) of (?<fs>[^\]]+)\]",
                    Template = "BUG: Dentry still in use in {op}", Alt = ["BUG: Dentry still in use [{op} of {fs}]"] },
                new() { Kind = OopsKind.BadPage, Title = "BUG: Bad page (?<what>state|cache)", Template = "BUG: Bad page {what} in {frame}",
                    Stack = S(["page last allocated", Stack], "(free|put|get|update|release)_page", "free_unref", "^_*folio", "truncate_inode_pages",
                        "page_frag_free", "alloc", "vmap", "page_owner") },
                new() { Kind = OopsKind.BadPage, Title = "BUG: Bad page map", Template = "BUG: Bad page map" },
                new() { Kind = OopsKind.Bug, Title = "BUG: workqueue lockup", Template = "BUG: workqueue lockup", NoStackTrace = true },
                new() { Kind = OopsKind.AtomicSleep, Title = "BUG: sleeping function called from invalid context at (?<src>.*)",
                    Template = "BUG: sleeping function called from invalid context in {frame}", Stack = CallStack() },
                new() { Kind = OopsKind.Bug, Title = @"BUG: using (?<fn>[a-z_]+)\(\) in preemptible", Template = "BUG: using {fn}() in preemptible code in {frame}",
                    Stack = CallStack("dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu") },
                new() { Kind = OopsKind.Lockdep, Title = "BUG: workqueue leaked lock or atomic",
                    Report = @"BUG: workqueue leaked lock or atomic(?:.*\n)+?.*last function: (?<fn>[a-zA-Z0-9_]+)\n",
                    Template = "BUG: workqueue leaked lock or atomic in {fn}", NoStackTrace = true },
                new() { Kind = OopsKind.MemoryLeak, Title = "BUG: memory leak", Template = "memory leak in {frame}",
                    Stack = S([@"backtrace(?: \(crc [0-9a-f]*\))?:", Stack], "kmemleak", "mmap", "kmem", "slab", "alloc", "create_object",
                        "idr_get", "list_lru_init", "kasprintf", "kvasprintf", "pcpu_create", "strdup", "strndup", "memdup") },
                new() { Kind = OopsKind.StackOverflow, Title = "BUG: .*stack guard page was hit at", Template = "BUG: stack guard page was hit in {frame}",
                    Alt = ["stack-overflow in {frame}"], Stack = new() { Parts = [Rip, CallTrace, Stack], Extractor = FrameExtractor.Stall } },
                // arm prints this for what amd64 reports as a lockdep WARNING: same title so they group.
                new() { Kind = OopsKind.Lockdep, Title = "BUG: Invalid wait context", Template = "WARNING: locking bug in {frame}", Stack = CallStack("lock_sock", "release_sock") },
                new() { Kind = OopsKind.Bug, Title = @"BUG:\s*(?:\n|$)", Template = "BUG: corrupted", Corrupted = true },
            ],
        },
        new()
        {
            Header = "WARNING:",
            Suppressions =
            [
                "WARNING: /etc/ssh/moduli does not exist, using fixed modulus", "WARNING: workqueue cpumask: online intersect > possible intersect",
                "WARNING: [Tt]he mand mount option", @"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1", "WARNING: Unprivileged eBPF is enabled with eIBRS",
                @"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size", "WARNING: See https.* for mitigation options.",
                "WARNING: kernel not compiled with CPU_SRSO", @"EXT4-[Ff][Ss](?: \(.*\))?:", "(?i)warning: .* uses (deprecated v2 capabilities|wireless extensions)",
                @"XFS \(\w+\): WARNING",
            ],
            Formats =
            [
                new() { Kind = OopsKind.Warning, Title = @"WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check|at)", Template = "WARNING: ODEBUG bug in {frame}",
                    // Users of debug objects are infrastructure too.
                    Stack = WarnStack("debug_", "rcu", "hrtimer_", "timer_", "work_", "percpu_", "vunmap", "vfree", "__free_", "debug_check", "kobject_") },
                new() { Kind = OopsKind.Warning, Title = @"WARNING: .*mm/usercopy\.c.* (?:usercopy_warn|at)", Template = "WARNING: bad usercopy in {frame}", Stack = WarnStack("usercopy", "__check") },
                new() { Kind = OopsKind.Warning, Title = @"WARNING: .*lib/kobject\.c.* (?:kobject_|at)", Template = "WARNING: kobject bug in {frame}", Stack = WarnStack("kobject_") },
                new() { Kind = OopsKind.Warning, Title = @"WARNING: .*fs/proc/generic\.c.* (?:proc_register|at)", Template = "WARNING: proc registration bug in {frame}", Stack = WarnStack("proc_") },
                new() { Kind = OopsKind.Warning, Title = @"WARNING: .*lib/refcount\.c.* (?:refcount_|at)", Template = "WARNING: refcount bug in {frame}", Stack = WarnStack("refcount", "kobject_") },
                new() { Kind = OopsKind.Lockdep, Title = @"WARNING: .*kernel/locking/lockdep\.c.*lock_", Template = "WARNING: locking bug in {frame}", Stack = WarnStack("lock_sock", "release_sock") },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: .*still has locks held!", Report = @"WARNING: .*still has locks held!(?:.*\n)+?.*at: {{FUNC}}", Template = "WARNING: still has locks held in {func}" },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: Nested lock was not taken", Template = "WARNING: nested lock was not taken in {frame}", Stack = WarnStack() },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: lock held when returning to user space",
                    Report = @"WARNING: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
                    Template = "WARNING: lock held when returning to user space in {func}", NoStackTrace = true },
                new() { Kind = OopsKind.Warning, Title = @"WARNING: .*mm/.*\.c.* k?.?malloc", Template = "WARNING: kmalloc bug in {frame}", Stack = WarnStack("kmalloc", "krealloc", "slab", "kmem") },
                new() { Kind = OopsKind.Warning, Title = "WARNING: .*mm/vmalloc.c.*__vmalloc_node", Template = "WARNING: zero-size vmalloc in {frame}", Stack = WarnStack() },
                new() { Kind = OopsKind.Warning, Title = "WARNING: .* usb_submit_urb", Template = "WARNING in {frame}/usb_submit_urb",
                    Stack = WarnStack("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg") },
                // 6.19+: "WARNING: file.c:123 at 0x0, CPU#1: comm/pid".
                new() { Kind = OopsKind.Warning, Title = @"WARNING: {{SRC}} at 0x\d+, CPU#\d+", Template = "WARNING in {frame}", Stack = WarnStack() },
                new() { Kind = OopsKind.Warning, Title = "WARNING: .* at {{SRC}} {{FUNC}}", Template = "WARNING in {frame}", Stack = WarnStack() },
                new() { Kind = OopsKind.Warning, Title = "WARNING: {{SRC}} at {{FUNC}}", Template = "WARNING in {frame}", Stack = WarnStack() },
                new() { Kind = OopsKind.Warning, Title = @"WARNING: \[.*\] {{SRC}} at {{FUNC}}.*", Template = "WARNING in {frame}", Stack = WarnStack() },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: possible circular locking dependency detected",
                    Report = @"WARNING: possible circular locking dependency detected(?:.*\n)+?.*is trying to acquire lock",
                    Template = "possible deadlock in {frame}",
                    // Workqueue functions take locks of their work items: deadlocks there belong to the work.
                    Stack = S(["at: (?:{{PC}} +)?{{FUNC}}", "at: (?:{{PC}} +)?{{FUNC}}", Stack], "process_one_work", "flush_workqueue", "drain_workqueue", "destroy_workqueue") },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: possible irq lock inversion dependency detected",
                    Report = @"WARNING: possible irq lock inversion dependency detected(?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
                    Template = "possible deadlock in {func}" },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: .*-safe -> .*-unsafe lock order detected", Template = "possible deadlock in {frame}",
                    Stack = S(["which became (?:.*) at:", Stack]) },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: possible recursive locking detected",
                    Report = @"WARNING: possible recursive locking detected(?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
                    Template = "possible deadlock in {func}" },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: inconsistent lock state",
                    Report = @"WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
                    Template = "inconsistent lock state in {frame}", Stack = CallStack() },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: suspicious RCU usage", Report = @"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}",
                    Template = "WARNING: suspicious RCU usage in {frame}", Stack = CallStack("rcu", "kmem", "slab") },
                new() { Kind = OopsKind.Warning, Title = "WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '(?<reg>[^']+)' value",
                    Template = "WARNING: kernel stack regs has bad '{reg}' value", NoStackTrace = true },
                new() { Kind = OopsKind.Warning, Title = "WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value",
                    Template = "WARNING: kernel stack frame pointer has bad value", NoStackTrace = true },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: bad unlock balance detected!", Template = "WARNING: bad unlock balance in {frame}",
                    Stack = S(["{{PC}} +{{FUNC}}", CallTrace, Stack]) },
                new() { Kind = OopsKind.Lockdep, Title = "WARNING: held lock freed!", Report = @"WARNING: held lock freed!(?:.*\n)+?.*at:(?: {{PC}})? +{{FUNC}}",
                    Template = "WARNING: held lock freed in {func}" },
                new() { Kind = OopsKind.Warning, Title = "WARNING: kernel stack regs .* has bad 'bp' value", Template = "WARNING: kernel stack regs has bad value", NoStackTrace = true },
                new() { Kind = OopsKind.Warning, Title = "WARNING: kernel stack frame pointer .* has bad value", Template = "WARNING: kernel stack regs has bad value", NoStackTrace = true },
                new() { Kind = OopsKind.Warning, Title = @"WARNING:\s*(?:\n|$)", Template = "WARNING: corrupted", Corrupted = true },
            ],
        },
        new()
        {
            Header = "INFO:",
            Suppressions =
            [
                "INFO: lockdep is turned off", "INFO: Stall ended before state dump start", "INFO: NMI handler",
                "INFO: recovery required on readonly filesystem", "(handler|interrupt).*took too long",
                "INFO: sys_.* is not present in /proc/kallsyms", "INFO: no syscalls can create resource", "rmt_storage:INFO:", "_INFO:",
            ],
            Formats =
            [
                new() { Kind = OopsKind.Lockdep, Title = "INFO: possible circular locking dependency detected",
                    Report = @"INFO: possible circular locking dependency detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", Template = "possible deadlock in {func}" },
                new() { Kind = OopsKind.Lockdep, Title = "INFO: possible irq lock inversion dependency detected",
                    Report = @"INFO: possible irq lock inversion dependency detected \](?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", Template = "possible deadlock in {func}" },
                new() { Kind = OopsKind.Lockdep, Title = "INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
                    Report = @"INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected \](?:.*\n)+?.*is trying to acquire(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", Template = "possible deadlock in {func}" },
                new() { Kind = OopsKind.Lockdep, Title = "INFO: possible recursive locking detected",
                    Report = @"INFO: possible recursive locking detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", Template = "possible deadlock in {func}" },
                new() { Kind = OopsKind.Lockdep, Title = "INFO: inconsistent lock state",
                    Report = @"INFO: inconsistent lock state \](?:.*\n)+?.*takes(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", Template = "inconsistent lock state in {func}" },
                new() { Kind = OopsKind.RcuStall, Title = @"INFO: rcu_(?:preempt|sched|bh|tasks\w*) (?:self-)?detected(?: expedited)? stall",
                    Template = "INFO: rcu detected stall in {frame}", Alt = ["stall in {frame}"],
                    // Start at the timer interrupt that caught the looping code.
                    Stack = new() { Parts = ["apic_timer_interrupt", Rip, Stack], Parts2 = ["(?:apic_timer_interrupt|Exception stack|el1h_64_irq)", Stack],
                        Skip = ["apic_timer_interrupt", "rcu"], Extractor = FrameExtractor.Stall } },
                new() { Kind = OopsKind.Lockdep, Title = "INFO: trying to register non-static key", Template = "INFO: trying to register non-static key in {frame}",
                    Stack = CallStack("stack", "lock", "IRQ") },
                new() { Kind = OopsKind.Lockdep, Title = "INFO: suspicious RCU usage", Report = @"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}",
                    Template = "INFO: suspicious RCU usage in {frame}", Stack = CallStack("rcu", "kmem", "slab") },
                // The task name is user data and may hold a line break.
                new() { Kind = OopsKind.HungTask, Title = @"INFO: task .*(?:\n.*)?blocked (?:in I/O wait )?for more than [0-9]+ seconds",
                    Template = "INFO: task hung in {frame}", Alt = ["hang in {frame}"],
                    // arm's unwinder prints the frames right after sched_show_task's "task:... state:D" line, with no keyword.
                    Stack = new() { Parts = [CallTrace, Stack], Parts2 = [@"task:.* state:", Stack], Extractor = FrameExtractor.HungTask } },
                new() { Kind = OopsKind.HungTask, Title = "INFO: task .* can't die for more than .* seconds", Template = "INFO: task can't die in {frame}", Alt = ["hang in {frame}"],
                    Stack = CallStack("schedule") },
                // Old-style KASAN reports cut before their header.
                new() { Kind = OopsKind.Kasan, Title = "INFO: (?<what>Freed|Allocated) in (?<where>.*)", Template = "INFO: {what} in {where}", Corrupted = true },
                new() { Kind = OopsKind.Other, Title = @"INFO:\s*(?:\n|$)", Template = "INFO: corrupted", Corrupted = true },
            ],
        },
        new()
        {
            Header = "Unable to handle kernel",
            Formats =
            [
                new() { Kind = OopsKind.PageFault, Title = "Unable to handle kernel (?<what>paging request|NULL pointer dereference|access to user memory)",
                    Template = "BUG: unable to handle kernel {what} in {frame}", Alt = ["bad-access in {frame}"], Stack = RipStack() },
            ],
        },
        new()
        {
            Header = "general protection fault",
            // User-space GPFs are logged as one line ("... error:0 in libc.so").
            Suppressions = [@"general protection fault .* error:\d+ in "],
            Formats =
            [
                new() { Kind = OopsKind.GeneralProtectionFault, Title = "general protection fault.*:", Template = "general protection fault in {frame}",
                    Alt = ["bad-access in {frame}"], Stack = RipStack() },
            ],
        },
        new()
        {
            Header = "stack segment: ",
            Formats = [new() { Kind = OopsKind.GeneralProtectionFault, Title = "stack segment: ", Template = "stack segment fault in {frame}", Stack = RipStack() }],
        },
        new()
        {
            Header = "Kernel panic",
            ContinuesReport = true,
            Formats =
            [
                // Stack corruption may leave no symbol and no unwindable stack.
                new() { Kind = OopsKind.StackProtector, Title = "Kernel panic - not syncing: stack-protector:",
                    Report = "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}", Template = "kernel panic: stack is corrupted in {func}", NoStackTrace = true },
                new() { Kind = OopsKind.StackProtector, Title = "Kernel panic - not syncing: stack-protector:",
                    Report = "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+", Template = "kernel panic: stack is corrupted in {frame}",
                    Stack = CallStack("stack_chk") },
                new() { Kind = OopsKind.StackOverflow, Title = "Kernel panic - not syncing: corrupted stack end",
                    Report = "Kernel panic - not syncing: corrupted stack end detected inside scheduler", Template = "kernel panic: corrupted stack end in {frame}",
                    Alt = ["stack-overflow in {frame}"], Stack = new() { Parts = [CallTrace, Stack], Skip = ["schedule", "retint_kernel"], Extractor = FrameExtractor.Stall } },
                new() { Kind = OopsKind.StackOverflow, Title = "Kernel panic - not syncing: kernel stack overflow", Template = "kernel stack overflow in {frame}",
                    Alt = ["stack-overflow in {frame}"], Stack = new() { Parts = [CallTrace, Stack], Skip = ["bad_stack"], Extractor = FrameExtractor.Stall } },
                new() { Kind = OopsKind.Panic, Title = "Kernel panic - not syncing: Attempted to kill init!", Template = "kernel panic: Attempted to kill init!" },
                new() { Kind = OopsKind.Panic, Title = "Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+", Template = "kernel panic: Couldn't open N_TTY ldisc" },
                // These follow a report: seen alone, the report before them was lost.
                new() { Kind = OopsKind.Panic, Title = "Kernel panic - not syncing: Fatal exception", Template = "kernel panic: Fatal exception", Corrupted = true },
                new() { Kind = OopsKind.Panic, Title = "Kernel panic - not syncing: panic_on_warn set", Template = "kernel panic: panic_on_warn set", Corrupted = true },
                new() { Kind = OopsKind.Panic, Title = "Kernel panic - not syncing: hung_task: blocked tasks", Template = "kernel panic: hung_task: blocked tasks", Corrupted = true },
                new() { Kind = OopsKind.Panic, Title = "Kernel panic - not syncing: (?<msg>.*)", Template = "kernel panic: {msg}" },
            ],
        },
        new()
        {
            Header = "PANIC: double fault",
            ContinuesReport = true,
            Formats = [new() { Kind = OopsKind.StackOverflow, Title = "PANIC: double fault", Template = "PANIC: double fault in {frame}", Stack = S([Rip]) }],
        },
        new()
        {
            Header = "rust_kernel: panicked",
            Formats =
            [
                // The message is the line after "panicked at file.rs:line:col:".
                new() { Kind = OopsKind.Panic, Title = "rust_kernel: panicked", Report = @"rust_kernel: panicked at [^\n]*?\n(?<msg>.+?)\n",
                    Template = "{msg} in {frame}", Stack = CallStack(Regex.Escape("__rustc::rust_begin_unwind")) },
            ],
        },
        new()
        {
            Header = "kernel BUG",
            Formats =
            [
                new() { Kind = OopsKind.Bug, Title = "kernel BUG at mm/usercopy.c", Template = "BUG: bad usercopy in {frame}", Stack = CallStack("usercopy", "__check") },
                new() { Kind = OopsKind.ListCorruption, Title = "kernel BUG at lib/list_debug.c", Template = "BUG: corrupted list in {frame}", Alt = ["bad-access in {frame}"], Stack = CallStack(),
                    // Pasted without its trace: the list check that fired is all there is, and it is a kernel BUG.
                    Cut = new() { Kind = OopsKind.Bug, Title = "kernel BUG at lib/list_debug.c", Template = "kernel BUG in {frame}",
                        Stack = new() { Parts = [Rip], NoCommonSkip = true } } },
                // skb helpers BUG_ON their arguments: the caller is at fault.
                new() { Kind = OopsKind.Bug, Title = "kernel BUG at (?<src>.*)", Template = "kernel BUG in {frame}", Stack = RipStack("^skb_") },
            ],
        },
        new() { Header = "Kernel BUG", Formats = [new() { Kind = OopsKind.Bug, Title = "Kernel BUG (?<rest>.*)", Template = "kernel BUG {rest}" }] },
        new() { Header = "BUG kmalloc-", Formats = [new() { Kind = OopsKind.Kasan, Title = "BUG kmalloc-.*: Object already free", Template = "BUG: Object already free" }] },
        new() { Header = "divide error:", Formats = [new() { Kind = OopsKind.DivideError, Title = "divide error: ", Template = "divide error in {frame}", Stack = S([Rip]) }] },
        // Misspelt in 9d06c4027f21 ("x86/entry: Convert Divide Error to IDTENTRY").
        new() { Header = "divide_error:", Formats = [new() { Kind = OopsKind.DivideError, Title = "divide_error: ", Template = "divide error in {frame}", Stack = S([Rip]) }] },
        new() { Header = "invalid opcode:", Formats = [new() { Kind = OopsKind.InvalidOpcode, Title = "invalid opcode: ", Template = "invalid opcode in {frame}", Stack = S([Rip]) }] },
        new()
        {
            Header = "UBSAN:",
            Formats =
            [
                new() { Kind = OopsKind.Ubsan, Title = "UBSAN:", Report = "UBSAN: Undefined behaviour in", Template = "UBSAN: undefined-behaviour in {frame}", Stack = CallStack("ubsan", "overflow") },
                new() { Kind = OopsKind.Ubsan, Title = "UBSAN: array-index-out-of-bounds in", Template = "UBSAN: array-index-out-of-bounds in {frame}", Alt = ["bad-access in {frame}"], Stack = CallStack("ubsan", "overflow") },
                new() { Kind = OopsKind.Ubsan, Title = "UBSAN:", Report = "UBSAN: (?<bug>.*?) in", Template = "UBSAN: {bug} in {frame}", Stack = CallStack("ubsan", "overflow") },
            ],
        },
        new()
        {
            Header = "Booting the kernel.",
            // Boot messages echoed back as bogus mount options are not a reboot.
            Suppressions = ["Parsing ELF|Decompressing Linux|Unknown parameter '"],
            Formats = [new() { Kind = OopsKind.Other, Title = "^Booting the kernel", Template = "unexpected kernel reboot", NoStackTrace = true }],
        },
        new()
        {
            Header = "unregister_netdevice: waiting for",
            ContinuesReport = true,
            Formats = [new() { Kind = OopsKind.Other, Title = "unregister_netdevice: waiting for (?:.*) to become free", Template = "unregister_netdevice: waiting for DEV to become free", NoStackTrace = true }],
        },
        new() { Header = "VFS: Close: file count is 0", Formats = [new() { Kind = OopsKind.Other, Title = "VFS: Close: file count is 0", Template = "VFS: Close: file count is zero (use-after-free)", NoStackTrace = true }] },
        new() { Header = "VFS: Busy inodes after unmount", Formats = [new() { Kind = OopsKind.Other, Title = "VFS: Busy inodes after unmount", Template = "VFS: Busy inodes after unmount (use-after-free)", NoStackTrace = true }] },
        new()
        {
            Header = "Internal error:",
            ContinuesReport = true,
            // arm64 "synchronous external abort" is arm's "Unable to handle kernel paging request": one alt title.
            Formats = [new() { Kind = OopsKind.Oops, Title = "Internal error:", Template = "Internal error in {frame}", Alt = ["bad-access in {frame}"], Stack = RipStack() }],
        },
        new() { Header = "Unhandled fault:", Formats = [new() { Kind = OopsKind.PageFault, Title = "Unhandled fault:", Template = "Unhandled fault in {frame}", Alt = ["bad-access in {frame}"], Stack = RipStack() }] },
        new() { Header = "Alignment trap:", Formats = [new() { Kind = OopsKind.Oops, Title = "Alignment trap:", Template = "Alignment trap in {frame}", Stack = RipStack() }] },
        new()
        {
            Header = "trusty: panic",
            Formats =
            [
                new() { Kind = OopsKind.Other, Title = "trusty: panic.* ASSERT FAILED", Report = @"trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (?<msg>.+)",
                    Template = "trusty: ASSERT FAILED: {msg}", NoStackTrace = true },
                new() { Kind = OopsKind.Other, Title = "trusty: panic.* ASSERT FAILED.*: *(?<msg>.*)", Template = "trusty: ASSERT FAILED: {msg}", Corrupted = true },
                new() { Kind = OopsKind.Other, Title = "trusty: panic", Report = @"trusty: panic \(.*?\): (?<msg>.+)", Template = "trusty: panic: {msg}", NoStackTrace = true },
            ],
        },
        new()
        {
            Header = "fatal error:",
            Suppressions = ["ALSA", "fatal error: cannot create timer"],
            Formats = [new() { Kind = OopsKind.Other, Title = "fatal error:", Template = "go runtime error", NoStackTrace = true }],
        },
        new() { Header = "SYZFAIL:", Formats = [new() { Kind = OopsKind.Other, Title = "SYZFAIL:(?<rest>.*)", Template = "SYZFAIL:{rest}", NoStackTrace = true }] },
        new() { Header = "SYZFATAL:", Formats = [new() { Kind = OopsKind.Other, Title = "SYZFATAL:(?<rest>.*)", Template = "SYZFATAL:{rest}", Alt = ["SYZFATAL"], NoStackTrace = true }] },
        new()
        {
            Header = "panic:",
            // skb_panic:, skb_over_panic: are kernel functions, the rest boot noise.
            Suppressions = ["_panic:", "xlog_status:", @"ddb\.onpanic:", "evtlog_status:"],
            Formats =
            [
                new() { Kind = OopsKind.Other, Title = "panic: Sentry detected .* stuck task", Template = "panic: Sentry detected stuck tasks", NoStackTrace = true },
                new() { Kind = OopsKind.Other, Title = "panic:(?<rest>.*)", Template = "panic:{rest}", NoStackTrace = true },
            ],
        },
        // Beyond syzkaller's table: what production machines print.
        new()
        {
            Header = "Watchdog detected hard LOCKUP",
            Formats = [new() { Kind = OopsKind.HardLockup, Title = "Watchdog detected hard LOCKUP", Template = "BUG: hard lockup in {frame}", Alt = ["stall in {frame}"],
                Stack = new() { Parts = [Rip, CallTrace, Stack], Extractor = FrameExtractor.Stall } }],
        },
        new()
        {
            Header = "unreferenced object 0x",
            ContinuesReport = true,
            Formats = [new() { Kind = OopsKind.MemoryLeak, Title = "unreferenced object 0x", Template = "memory leak in {frame}",
                Stack = S([@"backtrace(?: \(crc [0-9a-f]*\))?:", Stack], "kmemleak", "mmap", "kmem", "slab", "alloc", "create_object",
                    "idr_get", "list_lru_init", "kasprintf", "kvasprintf", "pcpu_create", "strdup", "strndup", "memdup") }],
        },
        new()
        {
            // An oops whose header line was lost or never printed ("Oops: 0002 [#1] SMP").
            Header = "Oops:",
            ContinuesReport = true,
            Formats =
            [
                // Newer kernels name the trap in the Oops line ("Oops: int3: 0000 [#1]").
                new() { Kind = OopsKind.Oops, Title = @"Oops: (?<trap>[a-z][a-z0-9 ]*): [0-9a-f]{4} \[#[0-9]+\]", Template = "{trap} in {frame}", Stack = RipStack() },
                new() { Kind = OopsKind.Oops, Title = @"Oops: (?:[0-9a-f]{4} )?\[#[0-9]+\]", Template = "Oops in {frame}", Alt = ["bad-access in {frame}"], Stack = RipStack() },
            ],
        },
    ];

    /// <summary>One search for every header at once (vectorised): the only per-line cost for ordinary lines.</summary>
    public static readonly System.Buffers.SearchValues<string> AnyHeader =
        System.Buffers.SearchValues.Create(Headers.Select(h => h.Header).ToArray(), StringComparison.Ordinal);

    private static readonly Regex[] ReportStartIgnoreRes = ReportStartIgnores.Select(s => new Regex(Regex.Escape(s))).ToArray();

    static OopsFormats()
    {
        Compile(PanicStack);
        foreach (var h in Headers)
        {
            h.SuppressionRes = h.Suppressions.Select(OopsRegex.Compile).ToArray();
            foreach (var f in h.Formats.Concat(h.Formats.Where(f => f.Cut is not null).Select(f => f.Cut!)))
            {
                f.TitleRe = OopsRegex.Compile(f.Title);
                f.ReportRe = f.Report is null ? null : OopsRegex.Compile(f.Report);
                if (f.Stack is { } s) Compile(s);
            }
        }
    }

    private static void Compile(StackSpec s)
    {
        s.P1 = CompileParts(s.Parts);
        s.P2 = s.Parts2 is null ? null : CompileParts(s.Parts2);
        s.SkipRe = new NameMatcher(s.Skip, s.NoCommonSkip ? null : CommonSkipMatcher);
    }

    private static Regex?[] CompileParts(string[] parts) => parts.Select(p => p == Stack ? null : OopsRegex.Compile(p)).ToArray();

    /// <summary>The header a line starts a report with, or null (suppressed lines never start one).</summary>
    public static OopsHeader? MatchHeader(string line)
    {
        if (line.AsSpan().IndexOfAny(AnyHeader) < 0) return null;
        foreach (var h in Headers)
        {
            if (!line.Contains(h.Header, StringComparison.Ordinal)) continue;
            bool suppressed = false;
            foreach (var re in h.SuppressionRes)
                if (re.IsMatch(line)) { suppressed = true; break; }
            if (!suppressed) return h;
        }
        return null;
    }

    /// <summary>True for a header line that may sit inside another report.</summary>
    public static bool ContinuesReport(string line)
    {
        foreach (var re in ReportStartIgnoreRes) if (re.IsMatch(line)) return true;
        return false;
    }

    /// <summary>syzkaller's crash category for a title (first matching prefix).</summary>
    public static string? CategoryOf(string title)
    {
        foreach (var (prefix, category) in Categories)
            if (title.StartsWith(prefix, StringComparison.Ordinal)) return category;
        return null;
    }

    private static readonly (string Prefix, string? Category)[] Categories =
    [
        ("KFENCE: use-after-free write", "KFENCE-USE-AFTER-FREE-WRITE"), ("KFENCE: use-after-free", "KFENCE-USE-AFTER-FREE-READ"),
        ("KFENCE: invalid write", "KFENCE-WRITE"), ("KFENCE: out-of-bounds write", "KFENCE-WRITE"),
        ("KFENCE: invalid read", "KFENCE-READ"), ("KFENCE: out-of-bounds", "KFENCE-READ"),
        ("KFENCE: memory corruption", "KFENCE-MEMORY-CORRUPTION"), ("KFENCE: invalid free", "KFENCE-INVALID-FREE"),
        ("KMSAN: uninit-value", "KMSAN-UNINIT-VALUE"), ("KMSAN: kernel-infoleak-after-free", "KMSAN-USE-AFTER-FREE-READ"),
        ("KMSAN: kernel-usb-infoleak-after-free", "KMSAN-USE-AFTER-FREE-READ"), ("KMSAN: use-after-free", "KMSAN-USE-AFTER-FREE-READ"),
        ("KMSAN: kernel-infoleak", "KMSAN-INFO-LEAK"), ("KMSAN: kernel-usb-infoleak", "KMSAN-INFO-LEAK"),
        ("KASAN: null-ptr-deref Write", "KASAN-NULL-POINTER-DEREFERENCE-WRITE"), ("KASAN: null-ptr-deref Read", "KASAN-NULL-POINTER-DEREFERENCE-READ"),
        ("BUG: unable to handle kernel NULL pointer dereference in", "NULL-POINTER-DEREFERENCE"),
        ("KASAN: global-out-of-bounds Write", "KASAN-WRITE"), ("KASAN: out-of-bounds Write", "KASAN-WRITE"),
        ("KASAN: slab-out-of-bounds Write", "KASAN-WRITE"), ("KASAN: stack-out-of-bounds Write", "KASAN-WRITE"),
        ("KASAN: user-memory-access Write", "KASAN-WRITE"), ("KASAN: vmalloc-out-of-bounds Write", "KASAN-WRITE"),
        ("KASAN: wild-memory-access Write", "KASAN-WRITE"), ("KASAN: invalid-access Write", "KASAN-WRITE"),
        ("KASAN: global-out-of-bounds", "KASAN-READ"), ("KASAN: invalid-access", "KASAN-READ"), ("KASAN: out-of-bounds", "KASAN-READ"),
        ("KASAN: slab-out-of-bounds", "KASAN-READ"), ("KASAN: stack-out-of-bounds", "KASAN-READ"), ("KASAN: unknown-crash", "KASAN-READ"),
        ("KASAN: user-memory-access", "KASAN-READ"), ("KASAN: vmalloc-out-of-bounds", "KASAN-READ"), ("KASAN: wild-memory-access", "KASAN-READ"),
        ("KASAN: double-free or invalid-free", "KASAN-INVALID-FREE"), ("KASAN: invalid-free", "KASAN-INVALID-FREE"),
        ("KASAN: slab-use-after-free Write", "KASAN-USE-AFTER-FREE-WRITE"), ("KASAN: use-after-free Write", "KASAN-USE-AFTER-FREE-WRITE"),
        ("KASAN: slab-use-after-free", "KASAN-USE-AFTER-FREE-READ"), ("KASAN: use-after-free", "KASAN-USE-AFTER-FREE-READ"),
        ("BUG: corrupted list", "MEMORY_SAFETY_BUG"), ("BUG: unable to handle kernel paging request", "MEMORY_SAFETY_BUG"),
        ("WARNING: refcount bug", "REFCOUNT_WARNING"), ("UBSAN: array-index-out-of-bounds", "MEMORY_SAFETY_UBSAN"),
        ("KCSAN: data-race", "KCSAN-DATARACE"), ("KCSAN: assert: race in", "KCSAN-ASSERT"),
        ("BUG: bad unlock balance in", "LOCKDEP"), ("BUG: held lock freed in", "LOCKDEP"), ("BUG: rwlock", "LOCKDEP"),
        ("BUG: spinlock", "LOCKDEP"), ("BUG: still has locks held in", "LOCKDEP"), ("BUG: using", "LOCKDEP"),
        ("WARNING: bad unlock balance in", "LOCKDEP"), ("WARNING: held lock freed in", "LOCKDEP"), ("WARNING: lock held", "LOCKDEP"),
        ("WARNING: locking bug in", "LOCKDEP"), ("WARNING: nested lock was not taken in", "LOCKDEP"), ("WARNING: still has locks held in", "LOCKDEP"),
        ("WARNING: suspicious RCU usage in", "LOCKDEP"), ("inconsistent lock state in", "LOCKDEP"), ("possible deadlock in", "LOCKDEP"),
        ("BUG: scheduling while atomic in", "ATOMIC_SLEEP"), ("BUG: sleeping function called from invalid context in", "ATOMIC_SLEEP"),
        ("memory leak in", "LEAK"), ("BUG: bad usercopy in", "BUG"), ("kernel BUG", "BUG"), ("WARNING in", "WARNING"),
        ("BUG: stack guard page was hit in", null), ("WARNING: corrupted", null), ("WARNING: kernel stack frame pointer has bad value", null),
        ("WARNING: kernel stack regs has bad", null),
        ("BUG: soft lockup in", "HANG"), ("BUG: hard lockup in", "HANG"), ("INFO: rcu detected stall in", "HANG"), ("INFO: task can't die in", "HANG"),
        ("INFO: task hung in", "HANG"),
        ("Alignment trap in", "DoS"), ("BUG: Object already free", "DoS"), ("Internal error in", "DoS"), ("PANIC: double fault", "DoS"),
        ("Unhandled fault in", "DoS"), ("VFS: Busy inodes after unmount (use-after-free)", "DoS"), ("VFS: Close: file count is zero (use-after-free)", "DoS"),
        ("divide error in", "DoS"), ("general protection fault in", "DoS"), ("go runtime error", "DoS"), ("invalid opcode in", "DoS"),
        ("kernel panic:", "DoS"), ("kernel stack overflow", "DoS"), ("panic:", "DoS"), ("rust_kernel panicked", "DoS"), ("stack segment fault in", "DoS"),
        ("trusty:", "DoS"), ("unregister_netdevice: waiting for DEV to become free", "DoS"), ("Oops in", "DoS"), ("int3 in", "DoS"),
        ("unexpected kernel reboot", "REBOOT"), ("SYZFAIL", "SYZ_FAILURE"), ("SYZFATAL:", "SYZ_FAILURE"),
        ("WARNING:", "WARNING"), ("BUG:", null), ("INFO:", null), ("KASAN:", "KASAN-UNKNOWN"), ("KFENCE:", "KFENCE-UNKNOWN"),
        ("KMSAN:", "KMSAN-UNKNOWN"), ("UBSAN:", "UBSAN"), ("KCSAN:", "KCSAN-UNKNOWN"),
    ];
}
