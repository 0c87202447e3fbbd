using KernelDebug.Core.Parsing;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Oops;

/// <summary>What kind of crash report a <see cref="KernelOops"/> is.</summary>
public enum OopsKind
{
    /// <summary>A kernel BUG not covered by a more specific kind (<c>kernel BUG at</c>, <c>BUG: Bad rss-counter state</c>, ...).</summary>
    Bug,
    /// <summary><c>BUG: unable to handle page fault / kernel paging request</c>, arm <c>Unable to handle kernel ...</c>, <c>Unhandled fault</c>.</summary>
    PageFault,
    /// <summary><c>BUG: kernel NULL pointer dereference</c>.</summary>
    NullPointerDereference,
    /// <summary><c>BUG: sleeping function called from invalid context</c>, <c>BUG: scheduling while atomic</c>.</summary>
    AtomicSleep,
    /// <summary><c>BUG: Bad page state</c> / <c>Bad page map</c> / <c>Bad page cache</c>.</summary>
    BadPage,
    /// <summary>List corruption (<c>kernel BUG at lib/list_debug.c</c>).</summary>
    ListCorruption,
    /// <summary><c>WARNING: at/in ...</c> (WARN_ON and friends).</summary>
    Warning,
    /// <summary>x86 general protection fault (and stack segment fault).</summary>
    GeneralProtectionFault,
    /// <summary><c>invalid opcode</c> without a preceding BUG header.</summary>
    InvalidOpcode,
    /// <summary><c>divide error</c>.</summary>
    DivideError,
    /// <summary><c>stack-protector: Kernel stack is corrupted</c>.</summary>
    StackProtector,
    /// <summary>Stack guard page hit, kernel stack overflow, corrupted stack end, double fault.</summary>
    StackOverflow,
    /// <summary><c>Oops:</c> printed without any header line before it; arm <c>Internal error: Oops</c>, alignment traps.</summary>
    Oops,
    /// <summary>KASAN report (use-after-free, out-of-bounds, double/invalid free, null-ptr-deref, wild access ...).</summary>
    Kasan,
    /// <summary>KFENCE report.</summary>
    Kfence,
    /// <summary>KMSAN report (uninit-value, infoleak).</summary>
    Kmsan,
    /// <summary>KCSAN data race or assertion.</summary>
    Kcsan,
    /// <summary>UBSAN report.</summary>
    Ubsan,
    /// <summary>Lockdep and lock debugging (deadlocks, inconsistent state, suspicious RCU usage, bad unlock balance ...).</summary>
    Lockdep,
    /// <summary><c>INFO: task X blocked for more than N seconds</c>.</summary>
    HungTask,
    /// <summary>RCU CPU stall.</summary>
    RcuStall,
    /// <summary>Soft lockup (watchdog).</summary>
    SoftLockup,
    /// <summary>Hard lockup (NMI watchdog).</summary>
    HardLockup,
    /// <summary>kmemleak memory leak.</summary>
    MemoryLeak,
    /// <summary><c>Kernel panic - not syncing</c> standing alone (no other report before it).</summary>
    Panic,
    /// <summary>Anything else the table knows (unexpected reboot, netdevice refcount leak, fuzzer failures ...).</summary>
    Other,
}

/// <summary>The bad memory access a KASAN or KFENCE report describes.</summary>
public sealed record MemoryAccess
{
    /// <summary>KASAN or KFENCE.</summary>
    public required string Tool { get; init; }
    /// <summary>The bug class as printed: <c>use-after-free</c>, <c>slab-out-of-bounds</c>, <c>double-free</c>, ...</summary>
    public string? Bug { get; init; }
    /// <summary><c>Read</c> or <c>Write</c> (null for frees).</summary>
    public string? Operation { get; init; }
    /// <summary>Access size in bytes, when printed.</summary>
    public int? SizeBytes { get; init; }
    /// <summary>The accessed address.</summary>
    public ulong? Address { get; init; }
    /// <summary>Address in hex as the kernel prints it (0x...); Address stays numeric for filtering.</summary>
    public string? AddressHex => Flat.Hex(Address);
    /// <summary>Task that allocated the object (<c>Allocated by task N</c>).</summary>
    public int? AllocatedByTask { get; init; }
    /// <summary>Task that freed the object (<c>Freed by task N</c>).</summary>
    public int? FreedByTask { get; init; }
    /// <summary>Stack of the allocation.</summary>
    public IReadOnlyList<StackFrame> AllocationStack { get; init; } = Array.Empty<StackFrame>();
    /// <summary>Stack of the free.</summary>
    public IReadOnlyList<StackFrame> FreeStack { get; init; } = Array.Empty<StackFrame>();

    /// <inheritdoc />
    public override string ToString() => $"{Tool}: {Bug} {Operation} {SizeBytes} at 0x{Address:x}".Replace("  ", " ");
}

/// <summary>
/// One crash report found in a kernel log: classified, titled the way syzkaller titles it, with its guilty
/// frame, a signature that groups the same bug across machines, and the details the report carries.
/// </summary>
public sealed record KernelOops
{
    /// <summary>Report kind.</summary>
    public OopsKind Kind { get; init; }
    /// <summary>syzkaller crash category (<c>KASAN-READ</c>, <c>HANG</c>, <c>LOCKDEP</c>, <c>WARNING</c>, <c>DoS</c>, ...), null when it maps to none.</summary>
    public string? Category { get; init; }
    /// <summary>One-line title, e.g. <c>KASAN: use-after-free Read in foo</c>, with volatile parts normalised (NUM, ADDR).</summary>
    public required string Title { get; init; }
    /// <summary>Alternative titles of the same bug (e.g. <c>bad-access in foo</c>), for deduplication.</summary>
    public IReadOnlyList<string> AltTitles { get; init => field = Flat.List(value); } = FlatList<string>.Empty;
    /// <summary>The function blamed (first frame that is not reporting, locking, allocation or entry infrastructure).</summary>
    public string? GuiltyFrame { get; init; }
    /// <summary>Stable hash of the kind and the first reliable, non-infrastructure frames: same bug, same signature.</summary>
    public required string Signature { get; init; }
    /// <summary>True when the report is truncated or interleaved so badly that title or frame cannot be trusted.</summary>
    public bool Corrupted { get; init; }
    /// <summary>Why <see cref="Corrupted"/> is set.</summary>
    public string? CorruptedReason { get; init; }
    /// <summary>True when <c>Kernel panic - not syncing</c> followed (the report ended the machine).</summary>
    public bool Panicked { get; init; }
    /// <summary>The panic message after <c>not syncing: </c>.</summary>
    public string? PanicMessage { get; init; }
    /// <summary>Wall-clock time of the first line, when the log gives one.</summary>
    public DateTimeOffset? Time { get; init; }
    /// <summary>Time since boot of the first line.</summary>
    public TimeSpan? Uptime { get; init; }
    /// <summary>CPU from the <c>CPU: N PID: M Comm: X</c> line.</summary>
    public int? Cpu { get; init; }
    /// <summary>Process id from the <c>CPU:</c> line.</summary>
    public int? ProcessId { get; init; }
    /// <summary>Command name from the <c>CPU:</c> line.</summary>
    public string? Command { get; init; }
    /// <summary>Taint letters as printed (<c>G        W  O</c>), or empty when <c>Not tainted</c>; null when absent.</summary>
    public string? TaintedText { get; init; }
    /// <summary>Decoded taint flags.</summary>
    public KernelTaint? Tainted { get; init; }
    /// <summary>Kernel release from the <c>CPU:</c> line.</summary>
    public string? KernelRelease { get; init; }
    /// <summary>The <c>Hardware name:</c> line.</summary>
    public string? Hardware { get; init; }
    /// <summary>The faulting instruction (<c>RIP:</c>, <c>pc :</c>, <c>PC is at</c>), as a frame.</summary>
    public StackFrame? InstructionPointer { get; init; }
    /// <summary>The faulting data address (page fault address, KASAN/KFENCE address, CR2).</summary>
    public ulong? FaultAddress { get; init; }
    /// <summary>FaultAddress in hex as the kernel prints it (0x...); FaultAddress stays numeric for filtering.</summary>
    public string? FaultAddressHex => Flat.Hex(FaultAddress);
    /// <summary>The error code (<c>0000</c> of <c>[#1]</c> lines, <c>#PF: error_code(0x0002)</c>).</summary>
    public string? ErrorCode { get; init; }
    /// <summary>Register dump: name → value.</summary>
    public IReadOnlyDictionary<string, ulong> Registers { get; init => field = Flat.Map(value, v => $"0x{v:x}"); } = FlatMap<string, ulong>.Empty;
    /// <summary><see cref="FaultAddress"/> in hex.</summary>
    /// <summary>Frames of the main call trace, with their stack context (IRQ, TASK, NMI ...).</summary>
    public IReadOnlyList<StackFrame> Frames { get; init => field = Flat.List(value); } = FlatList<StackFrame>.Empty;
    /// <summary>Modules linked in.</summary>
    public IReadOnlyList<string> Modules { get; init => field = Flat.List(value, ","); } = FlatList<string>.Empty;
    /// <summary>KASAN/KFENCE access details, else null.</summary>
    public MemoryAccess? Access { get; init; }
    /// <summary>The report's <c>Code:</c> bytes decoded (x86 by Iced, arm64/arm by Capstone), null when it has no <c>Code:</c> line.</summary>
    public OopsCode? Code { get; init; }
    /// <summary><see cref="Code"/> as one line for CSV (the faulting instruction between <c>&lt;</c> and <c>&gt;</c>).</summary>
    public string? CodeText => Code?.Text;
    /// <summary>The instruction that faulted or trapped, as decoded from <c>Code:</c>.</summary>
    public string? FaultingInstruction { get; init; }
    /// <summary>The faulting instruction's memory operand evaluated with the report's registers (e.g. a NULL pointer plus a field offset).</summary>
    public FaultingAccess? FaultingAccess { get; init; }
    /// <summary>Source file of the guilty frame, when frames carry <c>file:line</c> (syzkaller, decode_stacktrace.sh output); never a generic header, allocator, reporting or locking file.</summary>
    public string? GuiltyFile { get; init; }
    /// <summary>Module of the guilty frame with its taint letters from <c>Modules linked in:</c> (<c>nvidia(POE)</c>); null for core kernel code.</summary>
    public OopsModule? GuiltyModule { get; init; }
    /// <summary>Addresses of the report printed without a symbol (<c>? 0xffffffff...</c> frames, a bare RIP) resolved afterwards against this machine's kallsyms.</summary>
    public IReadOnlyList<ResolvedAddress> ResolvedAddresses { get; init => field = Flat.List(value); } = FlatList<ResolvedAddress>.Empty;
    /// <summary><see cref="ResolvedAddresses"/> as "0x...=func+0x1/0x2;..." for CSV.</summary>
    public string ResolvedAddressesText => string.Join(';', ResolvedAddresses);
    /// <summary>Where the messages came from (file or device).</summary>
    public string? Source { get; init; }
    /// <summary>1-based line (or message index) of the report's first line.</summary>
    public int StartLine { get; init; }
    /// <summary>1-based line (or message index) of the report's last line.</summary>
    public int EndLine { get; init; }
    /// <summary>The report's raw lines (message texts, first to last, all contexts).</summary>
    public IReadOnlyList<string> Lines { get; init => field = Flat.List(value, "\n"); } = FlatList<string>.Empty;

    /// <inheritdoc />
    public override string ToString() => Title;
}
