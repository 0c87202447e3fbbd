using KernelDebug.Core.Native;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Symbols;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Oops;

/// <summary>Code: decoding, the faulting access, guilty file and module, and after-the-fact symbolization.</summary>
public sealed class OopsExplainTests
{
    private static List<KernelOops> ParseText(string text) => KernelOopsParser.Parse(ConsoleText.Split(text, "test")).ToList();

    private static KernelOops ParseFile(string path)
    {
        using var reader = File.OpenText(path);
        return KernelOopsParser.Parse(ConsoleText.Read(reader, path)).First();
    }

    private static KernelOops Corpus(string name) =>
        ParseText(CorpusCase.Load(Path.Combine(TestPaths.SharedFixtures, "oops", "syzkaller", name)).Log).MinBy(o => o.StartLine)!;

    [Fact]
    public void CodeLine_BytesMarkerAndWords()
    {
        var x86 = CodeLine.Parse("Code: 48 8b 47 10 <49> 8b 44 24 10")!;
        Assert.Equal(1, x86.UnitBytes);
        Assert.Equal(4, x86.MarkerOffset);
        Assert.Equal('<', x86.Marker);
        Assert.Equal(new byte[] { 0x48, 0x8b, 0x47, 0x10, 0x49, 0x8b, 0x44, 0x24, 0x10 }, x86.Bytes);

        // arm64 words are numbers: memory holds them little-endian.
        var arm = CodeLine.Parse("910003fd (f9400d01)")!;
        Assert.Equal(4, arm.UnitBytes);
        Assert.Equal(4, arm.MarkerOffset);
        Assert.Equal('(', arm.Marker);
        Assert.Equal(new byte[] { 0xfd, 0x03, 0x00, 0x91, 0x01, 0x0d, 0x40, 0xf9 }, arm.Bytes);

        Assert.Null(CodeLine.Parse("Code: Bad RIP value."));
        Assert.Null(CodeLine.Parse("Code: Unable to access opcode bytes at 0xffffffffc0000ff6."));
        var cut = CodeLine.Parse("Code: 73 01 c3 48 8b 0d c8 854")!;
        Assert.True(cut.Truncated);
        Assert.Equal(7, cut.Bytes.Length);
    }

    [Fact]
    public void X86_StartsWhereTheMarkedByteIsAnInstructionBoundary()
    {
        // "8b 47 10" is the tail of "48 8b 47 10": decoding from 0 would make "8b 47 10 49" one instruction and
        // run over the marked byte; decodecode's rule starts at the first offset that lands on it.
        var line = CodeLine.Parse("10 48 8b 47 10 <49> 8b 44 24 10")!;
        var code = X86CodeDecoder.Decode(line, 64, CodeSyntax.Intel, null);
        Assert.Equal(1, code.StartOffset);
        var f = Assert.Single(code.Instructions, i => i.Faulting);
        Assert.Equal(5, f.Offset);
        Assert.Equal(0, f.RelativeOffset);
        Assert.Equal("mov rax, qword ptr [r12+10h]", f.Text);
        Assert.Equal("mov rax, qword ptr [rdi+10h]", code.Instructions[0].Text);
    }

    [Fact]
    public void NullPointerPlusOffset_FromTheReportsRegisters()
    {
        var o = ParseFile(TestPaths.Fixture("oops", "null-deref-module.log"));
        Assert.Equal("x86_64", o.Code!.Architecture);
        Assert.True(o.Code.Decoded);
        Assert.Equal("mov rax, qword ptr [r12+10h]", o.FaultingInstruction);
        var a = o.FaultingAccess!;
        Assert.Equal("R12", a.BaseRegister);
        Assert.Equal(0UL, a.BaseValue);
        Assert.Equal(0x10, a.Offset);
        Assert.Equal(0x10UL, a.Address);
        Assert.Equal("0x10", a.AddressHex);
        Assert.Equal("Read", a.Operation);
        Assert.True(a.MatchesFaultAddress);
        Assert.Equal(0x10, a.NullPointerOffset);
        Assert.Contains("NULL pointer plus offset 0x10", a.Explanation);
        Assert.Contains("<mov rax, qword ptr [r12+10h]>", o.CodeText);
        Assert.Equal("0x10", o.FaultAddressHex);

        var att = OopsExplainer.WithSyntax(o, CodeSyntax.Att);
        Assert.Equal("mov 0x10(%r12),%rax", att.FaultingInstruction);
        Assert.Equal(CodeSyntax.Att, att.Code!.Syntax);
        Assert.Equal("0x10(%r12)", att.FaultingAccess!.Operand);
        Assert.True(att.FaultingAccess.MatchesFaultAddress);
        Assert.Equal(0x10, att.FaultingAccess.NullPointerOffset);
    }

    [Fact]
    public void GuiltyModule_CarriesItsTaintLetters()
    {
        var o = ParseFile(TestPaths.Fixture("oops", "null-deref-module.log"));
        var m = o.GuiltyModule!;
        Assert.Equal("acme_nic", m.Name);
        Assert.Equal("PO", m.TaintLetters);
        Assert.True(m.Proprietary);
        Assert.True(m.OutOfTree);
        Assert.False(m.Unsigned);
        Assert.True(m.Listed);
        Assert.Equal("acme_nic(PO)", m.ToString());
        Assert.Null(o.GuiltyFile);
    }

    [Fact]
    public void GuiltyFile_SkipsReportingLibraryAndWorkqueueFiles()
    {
        // syzkaller case 400: WARNING in blk_sync_queue, its frames symbolized with file:line.
        var o = Corpus("400");
        Assert.Equal("blk_sync_queue", o.GuiltyFrame);
        Assert.Equal("block/blk-core.c", o.GuiltyFile);
        Assert.Null(o.GuiltyModule);
        // A WARNING traps on ud2: the marked instruction.
        Assert.Equal("ud2", o.FaultingInstruction);
        Assert.Null(o.FaultingAccess);
    }

    [Fact]
    public void GuiltyFile_ProprietaryModuleInADecodedTrace()
    {
        // Written from the kernel's printk formats (dump of a page fault, decode_stacktrace.sh output).
        const string log = """
            [  100.000001] BUG: unable to handle page fault for address: ffffc90000a3f018
            [  100.000002] #PF: supervisor write access in kernel mode
            [  100.000003] Oops: 0002 [#1] PREEMPT SMP NOPTI
            [  100.000004] CPU: 2 PID: 812 Comm: Xorg Tainted: P           OE      6.1.0-18-amd64 #1  Debian 6.1.76-1
            [  100.000005] RIP: 0010:_nv012345rm+0x1c/0x40 [nvidia]
            [  100.000006] Code: 00 00 00 00 0f 1f 44 00 00 55 48 89 e5 <48> 89 77 18 5d c3 cc cc cc cc
            [  100.000007] RSP: 0018:ffffc90000a3fc00 EFLAGS: 00010246
            [  100.000008] RAX: 0000000000000000 RBX: ffff888104a8e000 RCX: 0000000000000000
            [  100.000009] RDX: 0000000000000000 RSI: 0000000000000001 RDI: ffffc90000a3f000
            [  100.000010] RBP: ffffc90000a3fc08 R08: 0000000000000000 R09: 0000000000000000
            [  100.000011] R10: 0000000000000000 R11: 0000000000000000 R12: ffff888104a8e000
            [  100.000012] R13: 0000000000000000 R14: 0000000000000000 R15: 0000000000000000
            [  100.000013] FS:  00007f0b2e1ff700(0000) GS:ffff88846fa80000(0000) knlGS:0000000000000000
            [  100.000014] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033
            [  100.000015] CR2: ffffc90000a3f018 CR3: 0000000112d7c000 CR4: 00000000003506e0
            [  100.000016] Call Trace:
            [  100.000017]  <TASK>
            [  100.000018]  _nv012345rm+0x1c/0x40 [nvidia] nvidia/nv-rm.c:120
            [  100.000019]  nvidia_ioctl+0x5a1/0x860 [nvidia] nvidia/nv.c:2311
            [  100.000020]  __x64_sys_ioctl+0x8d/0xd0 fs/ioctl.c:856
            [  100.000021]  do_syscall_64+0x58/0xc0 arch/x86/entry/common.c:80
            [  100.000022]  entry_SYSCALL_64_after_hwframe+0x64/0xce
            [  100.000023]  </TASK>
            [  100.000024] Modules linked in: nvidia_drm(POE) nvidia_modeset(POE) nvidia(POE) snd_hda_intel drm_kms_helper
            [  100.000025] CR2: ffffc90000a3f018
            [  100.000026] ---[ end trace 0000000000000000 ]---
            """;
        var o = Assert.Single(ParseText(log));
        Assert.Equal("_nv012345rm", o.GuiltyFrame);
        Assert.Equal("nvidia/nv-rm.c", o.GuiltyFile);
        Assert.Equal("nvidia(POE)", o.GuiltyModule!.ToString());
        Assert.True(o.GuiltyModule.Proprietary && o.GuiltyModule.OutOfTree && o.GuiltyModule.Unsigned);
        Assert.Equal("mov qword ptr [rdi+18h], rsi", o.FaultingInstruction);
        Assert.Equal("Write", o.FaultingAccess!.Operation);
        Assert.Equal(0xffffc90000a3f018UL, o.FaultingAccess.Address);
        Assert.True(o.FaultingAccess.MatchesFaultAddress);
        Assert.Null(o.FaultingAccess.NullPointerOffset);
    }

    [Fact]
    public void KasanShadowCheck_NamesTheNullPointerOffset()
    {
        // syzkaller case 392: a KASAN-instrumented load of a NULL pointer's field; the GPF is on the shadow byte.
        var o = Corpus("392");
        var a = o.FaultingAccess!;
        Assert.Equal(0xdffffc0000000019UL, a.Address);
        Assert.Equal(0xc8, a.NullPointerOffset);
        Assert.Contains("KASAN shadow of 0xc8", a.Explanation);
    }

    [Fact]
    public void UserTaskCode_IsMarkedAndNotEvaluated()
    {
        // syzkaller case 371: a KASAN report whose only Code: line is the user task's (RIP: 0033).
        var o = Corpus("371");
        Assert.True(o.Code!.UserMode);
        Assert.True(o.Code.Decoded);
        Assert.Null(o.FaultingAccess);
    }

    [Fact]
    public void Arm64_DecodedThroughCapstone()
    {
        Assert.Null(LibCapstone.Unavailable);
        // syzkaller case 524: arm64 external abort on ldarb of x19.
        var o = Corpus("524");
        Assert.Equal("arm64", o.Code!.Architecture);
        Assert.True(o.Code.Decoded);
        Assert.Equal("()", o.Code.Marker);
        Assert.Equal(5, o.Code.Instructions.Count);
        Assert.Equal("ldarb w0, [x19]", o.FaultingInstruction);
        Assert.Equal("mov x29, sp", o.Code.Instructions[0].Text);
        var a = o.FaultingAccess!;
        Assert.Equal("x19", a.BaseRegister);
        Assert.Equal(o.Registers["x19"], a.BaseValue);
        Assert.Equal(o.Registers["x19"], a.Address);
        Assert.Equal("Read", a.Operation);
    }

    [Fact]
    public void Arm32_RegistersReadFromItsOwnDump()
    {
        // syzkaller case 243: arm (32-bit) "PC is at", words in (..), registers as "r2 : ...".
        var o = Corpus("243");
        Assert.Equal("arm", o.Code!.Architecture);
        Assert.StartsWith("ldr", o.FaultingInstruction);
        Assert.NotNull(o.FaultingAccess!.Address);
    }

    [Fact]
    public void Capstone_MissingLibraryIsAReasonNotAnException()
    {
        string? reason = LibCapstone.Probe("libcapstone-not-here.so.99");
        Assert.NotNull(reason);
        Assert.Contains("apt-get install libcapstone4", reason);
        var line = CodeLine.Parse("910003fd (f9400d01)")!;
        var code = ArmCodeDecoder.NotDecoded(line, arm64: true, reason!);
        Assert.False(code.Decoded);
        Assert.Equal(reason, code.NotDecodedReason);
        Assert.StartsWith("not decoded:", code.Text);
        Assert.Null(ArmCodeDecoder.Evaluate(code, new Dictionary<string, ulong>()));
    }

    [Fact]
    public void NoCodeBytes_SaysSo()
    {
        var bad = ParseText("""
            [   10.000001] BUG: kernel NULL pointer dereference, address: 0000000000000000
            [   10.000002] Oops: 0010 [#1] SMP NOPTI
            [   10.000003] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1
            [   10.000004] RIP: 0010:0x0
            [   10.000005] Code: Unable to access opcode bytes at 0xffffffffffffffd6.
            [   10.000006] Call Trace:
            [   10.000007]  <TASK>
            [   10.000008]  do_one_initcall+0x41/0x200
            [   10.000009]  </TASK>
            """).Single();
        Assert.False(bad.Code!.Decoded);
        Assert.Contains("Unable to access opcode bytes", bad.Code.NotDecodedReason);
        Assert.Null(bad.FaultingAccess);
    }

    [Fact]
    public void RandomCodeBytes_NeverThrow()
    {
        var rng = new Random(16);
        var regs = new Dictionary<string, ulong>
        {
            ["RAX"] = 0, ["RBX"] = 0x10, ["RSI"] = ulong.MaxValue, ["RDI"] = 0xdffffc0000000000, ["GS"] = 0xffff888000000000,
            ["x0"] = 0, ["x1"] = 0x6b6b6b6b6b6b6b6b, ["sp"] = 0xffff800080000000,
        };
        for (int n = 0; n < 300; n++)
        {
            int len = rng.Next(1, 64), marker = rng.Next(0, len);
            var bytes = new byte[len];
            rng.NextBytes(bytes);
            string x86 = string.Join(' ', bytes.Select((b, i) => i == marker ? $"<{b:x2}>" : $"{b:x2}"));
            var line = CodeLine.Parse(x86)!;
            foreach (int bits in new[] { 32, 64 })
            foreach (var syntax in new[] { CodeSyntax.Intel, CodeSyntax.Att })
            {
                var code = X86CodeDecoder.Decode(line, bits, syntax, n % 2 == 0 ? 0xffffffff81000000UL : null);
                Assert.True(code.Decoded);
                Assert.All(code.Instructions, i => Assert.True(i.Length > 0));
                X86CodeDecoder.Evaluate(code, bits, regs, syntax);
            }
            var words = CodeLine.Parse(string.Join(' ', Enumerable.Range(0, len / 4 + 1).Select(i => i == marker / 4 ? $"({rng.Next():x8})" : $"{rng.Next():x8}")))!;
            foreach (bool arm64 in new[] { true, false })
            {
                var code = ArmCodeDecoder.Decode(words, arm64, null);
                Assert.True(code.Decoded);
                ArmCodeDecoder.Evaluate(code, regs);
            }
        }
    }

    /// <summary>A report of this very kernel, built from real kallsyms addresses (never written to /dev/kmsg).</summary>
    [Fact]
    public void RawAddresses_SymbolizedAgainstThisKernelsKallsyms()
    {
        var root = KernelRoot.Live;
        string release = root.TryReadValue("proc/sys/kernel/osrelease")!;
        var table = KernelSymbolTable.TryLoad(root);
        if (table is null) Assert.Skip("/proc/kallsyms hides addresses (not root or kptr_restrict=2)");
        var read = table.Symbols.First(s => s.Name == "vfs_read" && s.IsFunction);
        var ksys = table.Symbols.First(s => s.Name == "ksys_read" && s.IsFunction);
        var sched = table.Symbols.First(s => s.Name == "schedule" && s.IsFunction);
        string Report(string rel, string extra = "") => $"""
            [   20.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008
            [   20.000002] #PF: supervisor read access in kernel mode
            [   20.000003] Oops: 0000 [#1] PREEMPT SMP NOPTI
            [   20.000004] CPU: 1 PID: 4242 Comm: kd-test Not tainted {rel} #1
            [   20.000005] RIP: 0010:0x{read.Address + 0x10:x}
            [   20.000006] Code: Unable to access opcode bytes at 0x{read.Address - 0x16:x}.
            [   20.000007] RSP: 0018:ffffc90000a3fc00 EFLAGS: 00010246
            [   20.000008] CR2: 0000000000000008
            [   20.000009] Call Trace:
            [   20.000010]  <TASK>
            [   20.000011]  ? 0x{sched.Address + 0x20:x}
            [   20.000012]  0x{ksys.Address + 0x5:x}
            {extra}[   20.000013]  </TASK>
            [   20.000014] ---[ end trace 0000000000000000 ]---
            """;
        var symbolizer = OopsSymbolizer.ForRoot(root);
        var o = symbolizer.Symbolize(ParseText(Report(release)).Single());
        Assert.Equal(3, o.ResolvedAddresses.Count);
        var rip = Assert.Single(o.ResolvedAddresses, r => r.Role == "RIP");
        Assert.Equal("vfs_read", rip.Frame.Function);
        Assert.Equal(0x10, rip.Frame.Offset);
        Assert.Equal(read.Address + 0x10, rip.Address);
        Assert.Contains(release, rip.ResolvedFrom);
        Assert.Equal("vfs_read", o.InstructionPointer!.Function);
        var q = Assert.Single(o.ResolvedAddresses, r => r.Frame.Function == "schedule");
        Assert.False(q.Frame.Reliable);
        Assert.Contains($"0x{ksys.Address + 5:x}=ksys_read+0x5", o.ResolvedAddressesText);

        // Another release: its addresses mean nothing here.
        var other = symbolizer.Symbolize(ParseText(Report("1.2.3-other")).Single());
        Assert.Empty(other.ResolvedAddresses);
        Assert.Null(other.InstructionPointer);

        // Same release, another boot: a printed symbol that kallsyms places elsewhere (KASLR) stops it.
        var moved = symbolizer.Symbolize(ParseText(Report(release,
            $"[   20.000012]  [<{read.Address + 0x1000000:x}>] ksys_write+0x10/0x20\n")).Single());
        Assert.Empty(moved.ResolvedAddresses);
    }
}
