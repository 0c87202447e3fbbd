using System.Runtime.InteropServices;
using KernelDebug.Core.Bpf;
using KernelDebug.Core.Bpf.Tools;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// The C# mirrors of the ABI structs match what the compiler laid out in each shipped object (its BTF): a field
/// added, moved or resized on one side only fails here. C names map to C# names by dropping underscores.
/// </summary>
public class BpfAbiTests
{
    public static TheoryData<string, string, Type> Structs => new()
    {
        { "runqlat", "sched_hist_key", typeof(SchedHistKey) },
        { "cpudist", "sched_hist_key", typeof(SchedHistKey) },
        { "offcpu", "offcpu_key", typeof(OffCpuKey) },
        { "offcpu", "offcpu_val", typeof(OffCpuValue) },
        { "execsnoop", "exec_event", typeof(ExecEvent) },
        { "exitsnoop", "exit_event", typeof(ExitEvent) },
        { "sigsnoop", "signal_event", typeof(SignalEvent) },
        { "oomkill", "oom_event", typeof(OomKillEvent) },
        { "syslat", "sl_key", typeof(SlKey) },
        { "blkio", "bio_key", typeof(BioKey) },
        { "lockcont", "lk_key", typeof(LkKey) },
        { "profile", "pf_key", typeof(PfKey) },
        { "memleak", "ml_alloc", typeof(MlAlloc) },
        { "pktdrop", "pd_key", typeof(PdKey) },
        { "pktdrop", "pd_val", typeof(PdValue) },
        { "irqtime", "irq_key", typeof(IrqKey) },
        { "reclaim", "reclaim_key", typeof(ReclaimKey) },
    };

    [Theory]
    [MemberData(nameof(Structs))]
    public void Layout_MatchesTheObjectsBtf(string obj, string cStruct, Type mirror)
    {
        using var s = BpfSession.Open(BpfSession.ReadEmbeddedObject(obj), "kd_abi");
        var btf = s.BtfStruct(cStruct);
        Assert.NotNull(btf);
        Assert.Equal(btf.Value.Size, Marshal.SizeOf(mirror));
        var fields = mirror.GetFields().Select(f => f.Name).ToList();
        Assert.Equal(btf.Value.Members.Count, fields.Count);
        foreach (var (name, offset) in btf.Value.Members)
        {
            var field = fields.SingleOrDefault(f => string.Equals(f, name.Replace("_", ""), StringComparison.OrdinalIgnoreCase));
            Assert.True(field is not null, $"{cStruct}.{name} has no field in {mirror.Name}");
            Assert.Equal(offset, (int)Marshal.OffsetOf(mirror, field!));
        }
    }

    [Fact]
    public void Selftest_IsNotShippedInTheModule()
    {
        Assert.DoesNotContain(typeof(BpfSession).Assembly.GetManifestResourceNames(), n => n.Contains("selftest", StringComparison.Ordinal));
        Assert.Contains("KernelDebug.Bpf.runqlat.bpf", typeof(BpfSession).Assembly.GetManifestResourceNames());
    }
}
