using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>How bad a machine check is, from its MCi_STATUS bits.</summary>
public enum MachineCheckSeverity
{
    /// <summary>VAL is clear: the bank holds no valid error.</summary>
    Invalid,
    /// <summary>Corrected by hardware (UC clear).</summary>
    Corrected,
    /// <summary>Uncorrected, processor context intact (UC set, PCC clear): recoverable, often by offlining a page.</summary>
    Uncorrected,
    /// <summary>Uncorrected with the processor context corrupt (UC and PCC): the kernel panics.</summary>
    Fatal,
}

/// <summary>The class of an MCA error code (bits 15:0 of MCi_STATUS), as the Intel SDM and AMD APM define them.</summary>
public enum MachineCheckErrorClass
{
    /// <summary>No error (code 0).</summary>
    None,
    /// <summary>Unclassified (code 1).</summary>
    Unclassified,
    /// <summary>Microcode ROM parity error.</summary>
    MicrocodeRomParity,
    /// <summary>External error (BINIT# or MCERR# from another agent).</summary>
    External,
    /// <summary>Functional redundancy check master/slave error.</summary>
    Frc,
    /// <summary>Internal parity error.</summary>
    InternalParity,
    /// <summary>SMM handler code access violation.</summary>
    SmmHandlerAccess,
    /// <summary>Internal timer error (a core timed out, often a hung processor).</summary>
    InternalTimer,
    /// <summary>Internal unclassified error (model specific).</summary>
    InternalUnclassified,
    /// <summary>TLB error.</summary>
    Tlb,
    /// <summary>Memory controller error (DRAM: ECC, address/command).</summary>
    MemoryController,
    /// <summary>Cache (memory hierarchy) error.</summary>
    Cache,
    /// <summary>Bus or interconnect error.</summary>
    Bus,
    /// <summary>A code that fits no documented class.</summary>
    Other,
}

/// <summary>
/// One machine-check record as x86 Linux logs it (<c>mce: [Hardware Error]: CPU 2: Machine Check ...</c> through
/// <c>... PROCESSOR ... microcode ...</c>), with MCi_STATUS decoded.
/// </summary>
public sealed record MachineCheck
{
    /// <summary>Logical CPU that logged it.</summary>
    public int Cpu { get; init; }
    /// <summary>MCA bank.</summary>
    public int Bank { get; init; }
    /// <summary>MCi_STATUS.</summary>
    public ulong Status { get; init; }
    /// <summary>Status in hex as the kernel prints it (0x...); Status stays numeric for filtering.</summary>
    public string? StatusHex => Flat.Hex(Status);
    /// <summary>MCG_STATUS.</summary>
    public ulong McgStatus { get; init; }
    /// <summary>McgStatus in hex as the kernel prints it (0x...); McgStatus stays numeric for filtering.</summary>
    public string? McgStatusHex => Flat.Hex(McgStatus);
    /// <summary>True when logged from the machine-check exception itself (MCG_STATUS.MCIP), not by polling or CMCI.</summary>
    public bool Exception { get; init; }
    /// <summary>MCi_ADDR, when logged.</summary>
    public ulong? Address { get; init; }
    /// <summary>Address in hex as the kernel prints it (0x...); Address stays numeric for filtering.</summary>
    public string? AddressHex => Flat.Hex(Address);
    /// <summary>MCi_MISC, when logged.</summary>
    public ulong? Misc { get; init; }
    /// <summary>Misc in hex as the kernel prints it (0x...); Misc stays numeric for filtering.</summary>
    public string? MiscHex => Flat.Hex(Misc);
    /// <summary>Protected processor inventory number, when logged.</summary>
    public ulong? Ppin { get; init; }
    /// <summary>AMD SMCA syndrome, when logged.</summary>
    public ulong? Syndrome { get; init; }
    /// <summary>AMD SMCA IP identification, when logged.</summary>
    public ulong? Ipid { get; init; }
    /// <summary>Ipid in hex as the kernel prints it (0x...); Ipid stays numeric for filtering.</summary>
    public string? IpidHex => Flat.Hex(Ipid);
    /// <summary>Time-stamp counter when logged.</summary>
    public ulong? Tsc { get; init; }
    /// <summary>Instruction pointer, when logged.</summary>
    public ulong? InstructionPointer { get; init; }
    /// <summary>InstructionPointer in hex as the kernel prints it (0x...); InstructionPointer stays numeric for filtering.</summary>
    public string? InstructionPointerHex => Flat.Hex(InstructionPointer);
    /// <summary>Code segment of the instruction pointer.</summary>
    public int? CodeSegment { get; init; }
    /// <summary>The kernel symbol at the instruction pointer (<c>{intel_idle+0x66/0x1a0}</c>).</summary>
    public string? Symbol { get; init; }
    /// <summary>False when MCG_STATUS.EIPV was clear (the log says <c>!INEXACT!</c>).</summary>
    public bool? InstructionPointerExact { get; init; }
    /// <summary>CPU vendor number (0 Intel, 2 AMD, ...).</summary>
    public int? Vendor { get; init; }
    /// <summary>CPUID signature (family/model/stepping, CPUID.1:EAX).</summary>
    public uint? CpuId { get; init; }
    /// <summary>Wall time the kernel recorded.</summary>
    public DateTimeOffset? Time { get; init; }
    /// <summary>Physical package.</summary>
    public int? Socket { get; init; }
    /// <summary>Initial APIC id.</summary>
    public uint? ApicId { get; init; }
    /// <summary>Microcode revision.</summary>
    public uint? Microcode { get; init; }
    /// <summary>Time since boot of the log line, when it had a timestamp.</summary>
    public TimeSpan? Uptime { get; init; }
    /// <summary>Other <c>[Hardware Error]</c> lines logged with it (vendor decoders).</summary>
    public IReadOnlyList<string> Messages { get; init => field = Flat.List(value, "\n"); } = FlatList<string>.Empty;

    /// <summary>VAL: the bank holds a valid error.</summary>
    public bool Valid => (Status & (1UL << 63)) != 0;
    /// <summary>OVER: an earlier error was overwritten.</summary>
    public bool Overflow => (Status & (1UL << 62)) != 0;
    /// <summary>UC: the error was not corrected.</summary>
    public bool Uncorrected => (Status & (1UL << 61)) != 0;
    /// <summary>EN: reporting of the error was enabled.</summary>
    public bool Enabled => (Status & (1UL << 60)) != 0;
    /// <summary>MISCV: MCi_MISC is valid.</summary>
    public bool MiscValid => (Status & (1UL << 59)) != 0;
    /// <summary>ADDRV: MCi_ADDR is valid.</summary>
    public bool AddressValid => (Status & (1UL << 58)) != 0;
    /// <summary>PCC: the processor context may be corrupt.</summary>
    public bool ContextCorrupt => (Status & (1UL << 57)) != 0;
    /// <summary>The MCA error code (bits 15:0).</summary>
    public int ErrorCode => (int)(Status & 0xFFFF);
    /// <summary>The model-specific error code (bits 31:16).</summary>
    public int ModelErrorCode => (int)((Status >> 16) & 0xFFFF);
    /// <summary>The class of <see cref="ErrorCode"/>.</summary>
    public MachineCheckErrorClass ErrorClass => MachineCheckDecoder.Classify(ErrorCode);
    /// <summary>The error code in words (<c>Cache L2 Data DataRead</c>).</summary>
    public string ErrorDescription => MachineCheckDecoder.Describe(ErrorCode);
    /// <summary>The status bits that are set, by name (VAL OVER UC EN MISCV ADDRV PCC).</summary>
    public string StatusFlags => MachineCheckDecoder.Flags(Status);
    /// <summary>Corrected, uncorrected or fatal.</summary>
    public MachineCheckSeverity Severity => !Valid ? MachineCheckSeverity.Invalid : !Uncorrected ? MachineCheckSeverity.Corrected
        : ContextCorrupt ? MachineCheckSeverity.Fatal : MachineCheckSeverity.Uncorrected;
}

/// <summary>Decodes MCi_STATUS error codes (Intel SDM vol. 3B "Interpreting the MCA Error Codes").</summary>
public static class MachineCheckDecoder
{
    private static readonly string[] Levels = ["L0", "L1", "L2", "LG"];
    private static readonly string[] Types = ["Instruction", "Data", "Generic", "Reserved"];
    private static readonly string[] Requests = ["Generic", "Read", "Write", "DataRead", "DataWrite", "InstructionFetch", "Prefetch", "Eviction", "Snoop"];
    private static readonly string[] MemoryRequests = ["Generic", "Read", "Write", "AddressCommand", "Scrubbing"];
    private static readonly string[] Participation = ["LocalProcessor", "Responder", "Observer", "Generic"];
    private static readonly string[] Transactions = ["Memory", "Reserved", "IO", "Other"];

    /// <summary>The class of an MCA error code.</summary>
    public static MachineCheckErrorClass Classify(int code)
    {
        int c = code & 0xEFFF; // bit 12 is the corrected-error filtering bit
        return c switch
        {
            0 => MachineCheckErrorClass.None,
            1 => MachineCheckErrorClass.Unclassified,
            2 => MachineCheckErrorClass.MicrocodeRomParity,
            3 => MachineCheckErrorClass.External,
            4 => MachineCheckErrorClass.Frc,
            5 => MachineCheckErrorClass.InternalParity,
            6 => MachineCheckErrorClass.SmmHandlerAccess,
            0x400 => MachineCheckErrorClass.InternalTimer,
            _ when (c & 0xF800) == 0x0800 => MachineCheckErrorClass.Bus,
            _ when (c & 0xFF00) == 0x0100 => MachineCheckErrorClass.Cache,
            _ when (c & 0xFF80) == 0x0080 => MachineCheckErrorClass.MemoryController,
            _ when (c & 0xFFF0) == 0x0010 => MachineCheckErrorClass.Tlb,
            _ when (c & 0xFC00) == 0x0400 => MachineCheckErrorClass.InternalUnclassified,
            _ => MachineCheckErrorClass.Other,
        };
    }

    /// <summary>The error code's fields in words.</summary>
    public static string Describe(int code)
    {
        int c = code & 0xEFFF;
        string ll = Levels[c & 3], tt = Types[(c >> 2) & 3];
        int rrrr = (c >> 4) & 0xF;
        string rr = rrrr < Requests.Length ? Requests[rrrr] : $"Request{rrrr}";
        return Classify(code) switch
        {
            MachineCheckErrorClass.Bus => $"Bus {ll} {Participation[(c >> 9) & 3]} {rr} {Transactions[(c >> 2) & 3]}" + ((c & 0x100) != 0 ? " Timeout" : ""),
            MachineCheckErrorClass.Cache => $"Cache {ll} {tt} {rr}",
            MachineCheckErrorClass.MemoryController => $"MemoryController {(((c >> 4) & 7) is var m && m < MemoryRequests.Length ? MemoryRequests[m] : $"Request{m}")} " +
                ((c & 0xF) == 0xF ? "ChannelUnspecified" : $"Channel{c & 0xF}"),
            MachineCheckErrorClass.Tlb => $"TLB {ll} {tt}",
            var k => k.ToString(),
        };
    }

    /// <summary>Names of the set architectural status bits.</summary>
    public static string Flags(ulong status)
    {
        var parts = new List<string>(8);
        if ((status & (1UL << 63)) != 0) parts.Add("VAL");
        if ((status & (1UL << 62)) != 0) parts.Add("OVER");
        if ((status & (1UL << 61)) != 0) parts.Add("UC");
        if ((status & (1UL << 60)) != 0) parts.Add("EN");
        if ((status & (1UL << 59)) != 0) parts.Add("MISCV");
        if ((status & (1UL << 58)) != 0) parts.Add("ADDRV");
        if ((status & (1UL << 57)) != 0) parts.Add("PCC");
        if ((status & (1UL << 56)) != 0) parts.Add("S");
        if ((status & (1UL << 55)) != 0) parts.Add("AR");
        return string.Join(' ', parts);
    }
}

/// <summary>
/// Finds machine-check records in kernel log lines (dmesg text, kern.log, console logs or /dev/kmsg messages):
/// the four-line block <c>arch/x86/kernel/cpu/mce/core.c</c> prints for each record.
/// </summary>
public sealed class MachineCheckParser
{
    private const string Marker = "[Hardware Error]:";
    private readonly ParseContext _ctx;
    private MachineCheck? _open;
    private readonly List<string> _messages = new();

    /// <summary>Creates a parser reporting issues to <paramref name="ctx"/>.</summary>
    public MachineCheckParser(ParseContext ctx) => _ctx = ctx;

    /// <summary>Parses a whole log.</summary>
    public static IReadOnlyList<MachineCheck> Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var p = new MachineCheckParser(ctx);
        var result = new List<MachineCheck>();
        int n = 0;
        foreach (var line in text.EnumerateLines())
            if (p.Add(line, ++n) is { } m) result.Add(m);
        if (p.Flush() is { } last) result.Add(last);
        return result;
    }

    /// <summary>Feeds one line (any prefixes allowed); returns a record when one is complete.</summary>
    public MachineCheck? Add(ReadOnlySpan<char> line, int lineNumber, TimeSpan? uptime = null)
    {
        int at = line.IndexOf(Marker);
        if (at < 0) return null;
        if (uptime is null)
        {
            uptime = ConsolePrefix.Parse(line).Uptime;
            if (uptime is null && line[..at].Contains('[')) _ctx.Warn(lineNumber, "console timestamp not understood", line[..at]);
        }
        var t = line[(at + Marker.Length)..].Trim();
        if (t.StartsWith("CPU ") && t.Contains("Machine Check", StringComparison.Ordinal))
        {
            var done = Flush();
            _open = ParseHeader(t, lineNumber, uptime);
            return done;
        }
        if (_open is null) return null;
        if (t.StartsWith("RIP")) _open = ParseRip(_open, t, lineNumber);
        else if (t.StartsWith("TSC ")) _open = ParseTsc(_open, t, lineNumber);
        else if (t.StartsWith("PROCESSOR "))
        {
            _open = ParseProcessor(_open, t, lineNumber);
            return Flush();
        }
        else _messages.Add(t.ToString());
        return null;
    }

    /// <summary>Returns the record still open (a log cut before its PROCESSOR line), if any.</summary>
    public MachineCheck? Flush()
    {
        var m = _open;
        if (m is not null && _messages.Count > 0) m = m with { Messages = _messages.ToArray() };
        _open = null;
        _messages.Clear();
        return m;
    }

    // "CPU 2: Machine Check Exception: 5 Bank 4: b200000000070f0f"
    private MachineCheck? ParseHeader(ReadOnlySpan<char> t, int n, TimeSpan? uptime)
    {
        var f = Fields.Split(t);
        f.Next(); // CPU
        var cpu = f.Next().TrimEnd(':');
        bool exception = false;
        ReadOnlySpan<char> mcg = default, bank = default, status = default;
        while (f.MoveNext())
        {
            var w = f.Current;
            if (w.SequenceEqual("Exception:")) { exception = true; mcg = f.Next(); }
            else if (w.SequenceEqual("Check:")) mcg = f.Next();
            else if (w.SequenceEqual("Bank")) { bank = f.Next().TrimEnd(':'); status = f.Next(); }
        }
        if (!Fields.TryNonNegativeInt(cpu, out int c) || !Fields.TryNonNegativeInt(bank, out int b) || !Fields.TryHex(mcg, out ulong g) || !Fields.TryHex(status, out ulong s))
        {
            _ctx.Warn(n, "malformed machine check header", t);
            return null;
        }
        return new MachineCheck { Cpu = c, Bank = b, McgStatus = g, Status = s, Exception = exception, Uptime = uptime };
    }

    // "RIP !INEXACT! 10:<ffffffff8100a4c6> {intel_idle+0x66/0x1a0}"
    private MachineCheck ParseRip(MachineCheck m, ReadOnlySpan<char> t, int n)
    {
        int lt = t.IndexOf(":<"), gt = t.IndexOf('>');
        if (lt < 2 || gt < lt) { _ctx.Warn(n, "malformed RIP line", t); return m; }
        var cs = Fields.Split(t[..lt]);
        ReadOnlySpan<char> last = default;
        while (cs.MoveNext()) last = cs.Current;
        if (!Fields.TryHex(last, out ulong seg) || seg > 0xFFFF || !Fields.TryHex(t[(lt + 2)..gt], out ulong ip)) { _ctx.Warn(n, "malformed RIP line", t); return m; }
        string? sym = null;
        int ob = t.IndexOf('{'), cb = t.LastIndexOf('}');
        if (ob > 0 && cb > ob) sym = t[(ob + 1)..cb].ToString();
        return m with { CodeSegment = (int)seg, InstructionPointer = ip, Symbol = sym, InstructionPointerExact = !t.Contains("!INEXACT!", StringComparison.Ordinal) };
    }

    // "TSC 2e4a0d3bd96 ADDR 1234000 MISC 86 PPIN 1 SYND 2 IPID 3"
    private MachineCheck ParseTsc(MachineCheck m, ReadOnlySpan<char> t, int n)
    {
        var f = Fields.Split(t);
        while (f.MoveNext())
        {
            var key = f.Current;
            if (!f.MoveNext() || !Fields.TryHex(f.Current, out ulong v)) { _ctx.Warn(n, "malformed TSC line", t); return m; }
            m = key switch
            {
                "TSC" => m with { Tsc = v },
                "ADDR" => m with { Address = v },
                "MISC" => m with { Misc = v },
                "PPIN" => m with { Ppin = v },
                "SYND" => m with { Syndrome = v },
                "IPID" => m with { Ipid = v },
                _ => m,
            };
        }
        return m;
    }

    // "PROCESSOR 0:50654 TIME 1700000000 SOCKET 0 APIC 4 microcode 2006e05"
    private MachineCheck ParseProcessor(MachineCheck m, ReadOnlySpan<char> t, int n)
    {
        var f = Fields.Split(t);
        bool ok = true;
        while (ok && f.MoveNext())
        {
            var key = f.Current;
            var val = f.Next();
            switch (key)
            {
                case "PROCESSOR":
                    int colon = val.IndexOf(':');
                    if (colon > 0 && Fields.TryNonNegativeInt(val[..colon], out int vendor) && Fields.TryHexUInt(val[(colon + 1)..], out uint id)) m = m with { Vendor = vendor, CpuId = id };
                    else ok = false;
                    break;
                case "TIME":
                    if (Fields.TryLong(val, out long secs) && Fields.TryUnixSeconds(secs, out var time)) m = m with { Time = time };
                    else ok = false;
                    break;
                case "SOCKET":
                    if (Fields.TryNonNegativeInt(val, out int sock)) m = m with { Socket = sock }; else ok = false;
                    break;
                case "APIC":
                    if (Fields.TryHexUInt(val, out uint apic)) m = m with { ApicId = apic }; else ok = false;
                    break;
                case "microcode":
                    if (Fields.TryHexUInt(val, out uint mc)) m = m with { Microcode = mc }; else ok = false;
                    break;
            }
        }
        if (!ok) _ctx.Warn(n, "malformed PROCESSOR line", t);
        return m;
    }
}
