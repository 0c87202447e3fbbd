using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Native;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

public class SyscallTableTests
{
    private static string FixtureText => File.ReadAllText(TestPaths.Fixture("bpf", "syscall_64.tbl"));

    [Fact]
    public void Fixture_ParsesNumbersNamesAbiAndSkipsComments()
    {
        var ctx = new ParseContext("syscall_64.tbl");
        var t = SyscallTableParser.Parse(new StringReader(FixtureText), ctx, "x86_64");
        Assert.Empty(ctx.Issues);
        Assert.Equal(8, t.All.Count);
        Assert.Equal("getppid", t[110]!.Name);
        Assert.Equal("sys_exit", t.Find("exit")!.EntryPoint);
        Assert.Equal("x32", t[512]!.Abi);
        Assert.Equal(257, t.Find("sys_openat")!.Id);
        Assert.Equal("syscall_999", t.NameOf(999));
    }

    [Fact]
    public void Truncated_KeepsCompleteLinesAndWarnsNothingFatal()
    {
        var text = Mangle.Truncate(FixtureText, (FixtureText.IndexOf("getppid", StringComparison.Ordinal) + 3.0) / FixtureText.Length);
        var ctx = new ParseContext("syscall_64.tbl");
        var t = SyscallTableParser.Parse(new StringReader(text), ctx, "x86_64");
        Assert.Equal("nanosleep", t[35]!.Name);
        Assert.True(t[110] is null || t[110]!.Name == "get");
    }

    [Fact]
    public void Garbage_WarnsWithLineNumbers_NeverThrows()
    {
        var text = FixtureText + "\nnot a line at all\n-5 common neg sys_neg\n7 common bad$name\n";
        var ctx = new ParseContext("syscall_64.tbl");
        var t = SyscallTableParser.Parse(new StringReader(text), ctx, "x86_64");
        Assert.Equal(3, ctx.Issues.Count);
        Assert.All(ctx.Issues, i => Assert.True(i.LineNumber > 10));
        Assert.Equal(8, t.All.Count);
        for (int seed = 0; seed < 20; seed++)
            SyscallTableParser.Parse(new StringReader(Mangle.Garbage(FixtureText, seed)), new ParseContext("g"), "x86_64");
    }

    [Fact]
    public void EmbeddedX8664Table_HasTheCallsThisKernelTraces()
    {
        var t = SyscallTable.X86_64;
        Assert.Equal(0, t.Find("read")!.Id);
        Assert.Equal(110, t.Find("getppid")!.Id);
        Assert.Equal(257, t.Find("openat")!.Id);
        Assert.Equal(462, t.Find("mseal")!.Id);
        // every syscall tracefs knows by its plain name is in the table (tracefs names a few as new*/…64)
        // tracefs found (on a fresh boot mounted) as the module does, so the check runs in every mount state.
        var events = KernelDebug.Core.Tracing.TraceFs.Locate(KernelRoot.Live).Resolve("events/syscalls");
        Assert.True(Directory.Exists(events), $"{events} is missing: this kernel has CONFIG_FTRACE_SYSCALLS");
        var missing = Directory.EnumerateDirectories(events, "sys_enter_*").Select(d => Path.GetFileName(d)["sys_enter_".Length..])
            .Where(n => t.Find(n) is null && !n.StartsWith("new", StringComparison.Ordinal) && !n.EndsWith("64", StringComparison.Ordinal) && n != "umount")
            .ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void ErrnoNames_RoundTrip()
    {
        Assert.Equal("ENOENT", ErrnoNames.NameOf(2));
        Assert.Equal(13, ErrnoNames.Parse("eacces"));
        Assert.Equal(110, ErrnoNames.Parse("110"));
        Assert.Null(ErrnoNames.Parse("ENOTANERRNO"));
        Assert.Equal("E4000", ErrnoNames.NameOf(4000));
    }

    [Fact]
    public void OpenGarbageElf_ErrorCarriesLibbpfMessage()
    {
        var messages = new List<string>();
        var e = Assert.Throws<ErrnoException>(() => BpfSession.Open(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, "kd_garbage", messages.Add));
        Assert.Equal("bpf_object__open_mem", e.Call);
        Assert.Contains("libbpf", e.Message);   // the print callback's warning is quoted
        Assert.NotEmpty(messages);
    }

    [Fact]
    public void EmbeddedObject_HasThreeProgramPairsAllNamedKd()
    {
        using var s = BpfSession.Open(BpfSession.ReadEmbeddedObject("syslat"), "kd_syslat");
        Assert.Equal(6, s.ProgramNames.Count);
        Assert.All(s.ProgramNames, n => Assert.StartsWith("kd_sl_", n));
        // globals are found through BTF, not by offset 0: writing the last ones must not touch the first
        s.SetGlobal("targ_errno", 2);
        s.SetGlobal("targ_per_process", (byte)1);
        Assert.Throws<ArgumentException>(() => s.SetGlobal("no_such_global", 1));
        Assert.Throws<ArgumentException>(() => s.SetGlobal<ulong>("targ_errno", 1UL));
    }
}
