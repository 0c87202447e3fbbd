using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Oops;

public sealed class OopsParserTests
{
    private static List<KernelOops> ParseFile(string path, ParseContext? ctx = null)
    {
        using var reader = File.OpenText(path);
        return KernelOopsParser.Parse(ConsoleText.Read(reader, path), ctx).ToList();
    }

    private static List<KernelOops> ParseText(string text, ParseContext? ctx = null) =>
        KernelOopsParser.Parse(ConsoleText.Split(text, "test"), ctx).ToList();

    private static string CorpusLog(string name) =>
        CorpusCase.Load(Path.Combine(TestPaths.SharedFixtures, "oops", "syzkaller", name)).Log;

    [Fact]
    public void NullDereferenceInModule_AllDetails()
    {
        var all = ParseFile(TestPaths.Fixture("oops", "null-deref-module.log"));
        var o = Assert.Single(all);
        Assert.Equal(OopsKind.NullPointerDereference, o.Kind);
        Assert.Equal("BUG: unable to handle kernel NULL pointer dereference in acme_rx_poll", o.Title);
        Assert.Equal("NULL-POINTER-DEREFERENCE", o.Category);
        Assert.Equal("acme_rx_poll", o.GuiltyFrame);
        Assert.Contains("bad-access in acme_rx_poll", o.AltTitles);
        Assert.False(o.Corrupted);
        Assert.True(o.Panicked);
        Assert.Equal("Fatal exception in interrupt", o.PanicMessage);
        Assert.Equal(4, o.StartLine);
        Assert.Equal(57, o.EndLine);
        Assert.Equal(o.EndLine - o.StartLine + 1, o.Lines.Count);
        Assert.Equal(TimeSpan.FromSeconds(4711.123456), o.Uptime);
        Assert.Equal(3, o.Cpu);
        Assert.Equal(0, o.ProcessId);
        Assert.Equal("swapper/3", o.Command);
        Assert.Equal("6.8.0-45-generic", o.KernelRelease);
        Assert.Equal("P           O", o.TaintedText);
        Assert.Equal("PO", o.Tainted!.Letters);
        Assert.StartsWith("Dell Inc. PowerEdge R640", o.Hardware);
        Assert.Equal(0x10UL, o.FaultAddress);
        Assert.Equal("0x0000", o.ErrorCode);
        Assert.Equal("acme_rx_poll", o.InstructionPointer!.Function);
        Assert.Equal(0x4fL, o.InstructionPointer.Offset);
        Assert.Equal("acme_nic", o.InstructionPointer.Module);
        Assert.Equal(0xffff9a3c41a8c000UL, o.Registers["RBX"]);
        Assert.Equal(0x10UL, o.Registers["CR2"]);
        Assert.Equal(0x00010246UL, o.Registers["EFLAGS"]);
        Assert.Equal(["acme_nic", "nf_conntrack_netlink", "xt_conntrack", "nft_chain_nat", "xt_MASQUERADE", "nf_nat", "tls", "intel_rapl_msr", "ipmi_ssif"], o.Modules);
        // The trace: unreliable frames marked, IRQ then TASK stack, the interrupted task's frames after its registers.
        Assert.False(o.Frames[0].Reliable);
        Assert.Equal("show_regs", o.Frames[0].Function);
        var napi = o.Frames.Single(f => f.Function == "__napi_poll");
        Assert.True(napi.Reliable);
        Assert.Equal("IRQ", napi.Context);
        Assert.Equal("TASK", o.Frames.Single(f => f.Function == "do_idle").Context);
        Assert.Equal("secondary_startup_64_no_verify", o.Frames[^1].Function);
    }

    [Fact]
    public void SeveralReportsInOneLog_InOrderWithTheirLines()
    {
        var all = ParseFile(TestPaths.Fixture("oops", "two-warnings.log"));
        Assert.Equal(["WARNING in drm_wait_one_vblank", "WARNING in ext4_set_page_dirty", "INFO: task hung in jbd2_journal_commit_transaction"],
            all.Select(o => o.Title));
        Assert.Equal([OopsKind.Warning, OopsKind.Warning, OopsKind.HungTask], all.Select(o => o.Kind));
        Assert.All(all, o => Assert.False(o.Panicked));
        Assert.Equal((4, 25), (all[0].StartLine, all[0].EndLine));   // ends at its end-trace marker, before the next cut-here line
        Assert.Equal((28, 44), (all[1].StartLine, all[1].EndLine));
        Assert.True(all[1].StartLine > all[0].EndLine && all[2].StartLine > all[1].EndLine);
        Assert.Equal("Xorg", all[0].Command);
        Assert.Equal("W", all[1].Tainted!.Letters);
        // The hung task's name and pid come from its header, the taint from its own line.
        Assert.Equal(("jbd2/sda1-8", 312), (all[2].Command, all[2].ProcessId));
        Assert.Equal("6.8.0-45-generic", all[2].KernelRelease);
        Assert.Equal(["drm_crtc_wait_one_vblank", "qxl_crtc_atomic_disable"], all[0].Frames.Where(f => f.Reliable).Take(2).Select(f => f.Function));
        Assert.Equal("drm", all[0].Frames.First(f => f.Reliable).Module);
        Assert.NotEqual(all[0].Signature, all[1].Signature);
    }

    [Fact]
    public void KasanReport_AccessAndStacks()
    {
        var o = ParseText(CorpusLog("130")).MinBy(x => x.StartLine)!;
        Assert.Equal(OopsKind.Kasan, o.Kind);
        Assert.Equal("KASAN: use-after-free Read in aead_recvmsg", o.Title);
        var a = Assert.IsType<MemoryAccess>(o.Access);
        Assert.Equal(("KASAN", "use-after-free", "Read", 4), (a.Tool, a.Bug, a.Operation, a.SizeBytes));
        Assert.Equal(0xffff8801c1afdb5cUL, a.Address);
        Assert.Equal(0xffff8801c1afdb5cUL, o.FaultAddress);
        Assert.Equal(3568, a.AllocatedByTask);
        Assert.Equal(3568, a.FreedByTask);
        Assert.Contains(a.AllocationStack, f => f.Function == "__kmalloc");
        Assert.NotEmpty(a.FreeStack);
        Assert.DoesNotContain(a.FreeStack, f => f.Function == "__kmalloc");
    }

    [Fact]
    public void KfenceReport_Access()
    {
        var o = ParseText(CorpusLog("590")).MinBy(x => x.StartLine)!;
        Assert.Equal(OopsKind.Kfence, o.Kind);
        Assert.Equal("KFENCE: use-after-free read in find_uprobe", o.Title);
        var a = o.Access!;
        Assert.Equal(("KFENCE", "use-after-free", "Read"), (a.Tool, a.Bug, a.Operation));
        Assert.Equal(0xffff88823bc8cf68UL, a.Address);
        Assert.Equal(9997, a.AllocatedByTask);
        Assert.Equal(9997, a.FreedByTask);
        Assert.NotEmpty(a.AllocationStack);
    }

    [Fact]
    public void PanicAfterWarning_IsPartOfTheWarning_AndAloneIsItsOwnReport()
    {
        string warn = """
            [   10.000000] WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo_func+0x10/0x20
            [   10.000001] Kernel panic - not syncing: panic_on_warn set ...
            [   10.000002] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1
            [   10.000003] Call Trace:
            [   10.000004]  <TASK>
            [   10.000005]  panic+0x10/0x20
            [   10.000006]  __warn+0x10/0x20
            [   10.000007]  foo_func+0x10/0x20
            [   10.000008]  bar_func+0x10/0x20
            [   10.000009]  </TASK>
            [   10.000010] ---[ end Kernel panic - not syncing: panic_on_warn set ... ]---
            """;
        var w = Assert.Single(ParseText(warn));
        Assert.Equal("WARNING in foo_func", w.Title);
        Assert.True(w.Panicked);

        string alone = """
            [    5.000000] VFS: Cannot open root device "sda1" or unknown-block(0,0): error -6
            [    5.000001] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
            [    5.000002] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1
            """;
        var p = Assert.Single(ParseText(alone));
        Assert.Equal(OopsKind.Panic, p.Kind);
        Assert.Equal("kernel panic: VFS: Unable to mount root fs on unknown-block(NUM,NUM)", p.Title);
        Assert.True(p.Panicked);
        Assert.Equal("DoS", p.Category);
    }

    [Fact]
    public void NoReport_InOrdinaryLog()
    {
        string log = string.Join('\n', Enumerable.Range(0, 500).Select(i =>
            $"[{i,5}.000000] e1000e: eth0 NIC Link is Up; usb 1-1: new device; audit: type=1400 audit({i}.1:2): apparmor=\"STATUS\""));
        Assert.Empty(ParseText(log + "\n[  600.0] WARNING: /etc/ssh/moduli does not exist, using fixed modulus\n"));
    }

    [Fact]
    public void SameBugOnTwoMachines_SameSignature()
    {
        string a = File.ReadAllText(TestPaths.Fixture("oops", "null-deref-module.log"));
        // Another boot: other timestamps, pid, addresses, CPU; same code path.
        string b = a.Replace("4711.", "99.").Replace("CPU: 3 PID: 0", "CPU: 7 PID: 0").Replace("ffff9a3c41a8", "ffff8e0011b2")
            .Replace("swapper/3", "swapper/7");
        var oa = Assert.Single(ParseText(a));
        var ob = Assert.Single(ParseText(b));
        Assert.Equal(oa.Signature, ob.Signature);
        Assert.Equal(oa.Title, ob.Title);
        var other = ParseFile(TestPaths.Fixture("oops", "two-warnings.log"))[0];
        Assert.NotEqual(oa.Signature, other.Signature);
        Assert.Matches("^[0-9a-f]{16}$", oa.Signature);
    }

    [Fact]
    public void Streaming_YieldsReportBeforeTheInputEnds()
    {
        static IEnumerable<KernelMessage> Endless()
        {
            foreach (var m in ConsoleText.Split(File.ReadAllText(TestPaths.Fixture("oops", "two-warnings.log"))).Take(27)) yield return m;
            for (int i = 0; ; i++)
            {
                if (i > 50_000) throw new InvalidOperationException("the parser read far past the end of the report");
                yield return new KernelMessage { Text = $"ordinary message {i}", Uptime = TimeSpan.FromSeconds(1000 + i) };
            }
        }
        var first = KernelOopsParser.Parse(Endless()).First();
        Assert.Equal("WARNING in drm_wait_one_vblank", first.Title);
    }

    [Fact]
    public void Truncated_StillFoundAndMarked()
    {
        string log = File.ReadAllText(TestPaths.Fixture("oops", "null-deref-module.log"));
        int cut = log.IndexOf("Call Trace:", StringComparison.Ordinal) + 20;
        var o = Assert.Single(ParseText(log[..cut]));
        Assert.Equal(OopsKind.NullPointerDereference, o.Kind);
        Assert.True(o.Corrupted);
        Assert.NotNull(o.CorruptedReason);

        foreach (double f in new[] { 0.05, 0.2, 0.4, 0.6, 0.8 })
            Assert.Null(Record.Exception(() => ParseText(Mangle.Truncate(log, f))));
    }

    [Fact]
    public void Garbage_NeverThrows()
    {
        string log = File.ReadAllText(TestPaths.Fixture("oops", "null-deref-module.log"));
        for (int seed = 1; seed <= 20; seed++)
        {
            var ctx = new ParseContext("garbage");
            var ex = Record.Exception(() => ParseText(Mangle.Garbage(log, seed), ctx));
            Assert.Null(ex);
        }
    }

    [Fact]
    public void ConsoleText_ParsesPrefixesAndConsoleNoise()
    {
        var m = ConsoleText.ToMessage("[  12.345678][ T1234] BUG: foo\r", "f", 7);
        Assert.Equal(("BUG: foo", 1234, 7, "f"), (m.Text, m.ThreadId!.Value, m.LineNumber!.Value, m.Source));
        Assert.Equal(TimeSpan.FromSeconds(12.345678), m.Uptime);
        var login = ConsoleText.ToMessage("syzkaller login: [   50.100000] WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2", null, 1);
        Assert.StartsWith("WARNING: CPU", login.Text);
        Assert.NotNull(login.Uptime);
        var dropped = ConsoleText.ToMessage("** 3 printk messages dropped ** [   50.2][    C1]  foo+0x1/0x2", null, 1);
        Assert.Equal((" foo+0x1/0x2", 1), (dropped.Text, dropped.CpuId!.Value));
        var plain = ConsoleText.ToMessage("no prefix here login: at all", null, 2);
        Assert.Equal("no prefix here login: at all", plain.Text);
        Assert.Null(plain.Uptime);
    }

    /// <summary>A report pasted without its trace ends with its register dump: those lines are the report's.</summary>
    [Fact]
    public void CutReport_KeepsItsTrailingRegisterLines()
    {
        var o = Assert.Single(ParseFile(TestPaths.Fixture("oops", "pastes", "cut-rip-x86.txt")));
        Assert.Equal(13, o.EndLine);
        Assert.StartsWith("RDX: 0000000000000001", o.Lines[^1]);
        Assert.Equal(0x246UL, o.Registers["RSI"]);
    }

    /// <summary>A console timestamp that came out damaged: warned about, and the line still read as the report's.</summary>
    [Theory]
    [InlineData("[ 18446744073709551616] ")]
    [InlineData("[ 1.2.3] ")]
    [InlineData("[  x7] ")]
    public void DamagedTimestamp_WarnedAndTheLineStillRead(string prefix)
    {
        var lines = File.ReadAllLines(TestPaths.Fixture("oops", "pastes", "cut-rip-x86.txt"));
        lines[11] = prefix + lines[11][(lines[11].IndexOf(']') + 2)..]; // RAX: ...
        var ctx = new ParseContext("test");
        var o = Assert.Single(ParseText(string.Join('\n', lines), ctx));
        var issue = Assert.Single(ctx.Issues);
        Assert.Equal((12, "malformed timestamp or level prefix"), (issue.LineNumber, issue.Message));
        Assert.Equal(0UL, o.Registers["RAX"]);
        Assert.Equal("BUG: unable to handle kernel NULL pointer dereference in acme_ring_free", o.Title);
    }

    [Theory]
    [InlineData("[ T12] text")]            // a caller field alone (printk.time=0)
    [InlineData("[<c0150dc4>] (kthread)")] // an arm frame
    [InlineData("[00000004] *pgd=00000000")]
    [InlineData("[drm:intel_dp_detect [i915]] x")]
    [InlineData("<IRQ>")]
    public void DamagedPrefix_NotTakenFromText(string text) => Assert.False(ConsolePrefix.TryParseDamaged(text, out _));

    /// <summary>Numbers the details are read from that do not fit: left out, each with a warning naming its line.</summary>
    [Theory]
    [InlineData(5, "CPU: 3 PID: 2231 Comm:", "CPU: 3 PID: 99999999999999999999 Comm:", "PID")]
    [InlineData(10, "RSP: 0018:ffffa8c0c1a3fd88", "RSP: 0018:18446744073709551616", "register RSP")]
    [InlineData(8, "acme_ring_free+0x2e/0x90", "acme_ring_free+x7/0x90", null)]
    public void NumberThatDoesNotFit_Warned(int line, string good, string bad, string? what)
    {
        var lines = File.ReadAllLines(TestPaths.Fixture("oops", "pastes", "cut-rip-x86.txt"));
        lines[line] = lines[line].Replace(good, bad);
        var ctx = new ParseContext("test");
        var o = Assert.Single(ParseText(string.Join('\n', lines), ctx));
        Assert.Equal("BUG: unable to handle kernel NULL pointer dereference in acme_ring_free", o.Title);
        Assert.Contains(bad, o.Lines[line]);
        if (what is null) return; // the RIP line: its frame is the title's, read from the text
        var issue = Assert.Single(ctx.Issues);
        Assert.Equal(line + 1, issue.LineNumber);
        Assert.StartsWith(what, issue.Message);
        Assert.Equal(3, o.Cpu);
    }

    /// <summary>A frame whose offset came out damaged: warned about, and the frames after it are still read.</summary>
    [Fact]
    public void DamagedFrame_WarnedAndTheTraceGoesOn()
    {
        var log = File.ReadAllText(TestPaths.Fixture("oops", "null-deref-module.log"));
        var want = Assert.Single(ParseText(log));
        var frame = want.Frames[1];
        string good = $"{frame.Function}+0x{frame.Offset:x}/";
        Assert.Contains(good, log);
        var ctx = new ParseContext("test");
        var o = Assert.Single(ParseText(log.Replace(good, $"{frame.Function}+x7/"), ctx));
        Assert.Contains(ctx.Issues, i => i.Message.StartsWith("stack frame", StringComparison.Ordinal));
        Assert.Equal(want.Frames.Count - 1, o.Frames.Count);
        Assert.Equal(want.Frames[^1], o.Frames[^1]);
        Assert.Equal(want.Title, o.Title);
    }

    [Theory]
    [InlineData("_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref", "<rust_binder::process::Process>::update_ref")]
    [InlineData("_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind", "__rustc::rust_begin_unwind")]
    [InlineData("_Z8fakeNameiii", "fakeName")]
    [InlineData("_ZN3foo3barEv", "foo::bar")]
    [InlineData("ext4_writepages", "ext4_writepages")]
    [InlineData("_RNvB9999_3foo", "_RNvB9999_3foo")]
    [InlineData("_R", "_R")]
    public void Demangle(string symbol, string expected) => Assert.Equal(expected, SymbolDemangler.Demangle(symbol));

    [Fact]
    public void FrameLine_Variants()
    {
        var f = OopsDetails.ParseFrameLine(" [<ffffffff81234567>] ? foo.isra.0+0x1a/0x40 [mymod] mm/slub.c:123 [inline]", "IRQ")!;
        Assert.Equal(("foo.isra.0", 0x1aL, 0x40L, "mymod", false, "IRQ", "mm/slub.c:123"), (f.Function, f.Offset!.Value, f.Size!.Value, f.Module, f.Reliable, f.Context, f.Source));
        var sym = OopsDetails.ParseFrameLine("  __dump_stack lib/dump_stack.c:77 [inline]", null)!;
        Assert.Equal(("__dump_stack", "lib/dump_stack.c:77"), (sym.Function, sym.Source));
        Assert.Null(OopsDetails.ParseFrameLine("Modules linked in: foo bar", null));
        Assert.Null(OopsDetails.ParseFrameLine("RSP: 0018:ffffb04d80214e48 EFLAGS: 00010246", null));
        Assert.Null(OopsDetails.ParseFrameLine("", null));
    }
}
