using System.Buffers.Binary;
using System.Runtime.InteropServices;
using KernelDebug.Core.Bpf;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>The ring-buffer reader against selftest.bpf.c: one event per getppid() of this process.</summary>
[Collection(LiveBpf.Name)]
public partial class RingBufferLiveTests
{
    [LibraryImport("libc")]
    private static partial int getppid();

    private static BpfSession Load()
    {
        var s = BpfSession.Open(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "bpf", "selftest.bpf.o")), "kd_selftest");
        s.SetGlobal("targ_tgid", (uint)Environment.ProcessId);
        s.Load();
        s.Attach();
        return s;
    }

    private static void Calls(int n)
    {
        var t = new Thread(() => { for (int i = 0; i < n; i++) getppid(); });
        t.Start();
        t.Join();
    }

    [Fact]
    public void FewEvents_AllArriveInOrder_NoneLost()
    {
        using var s = Load();
        var ids = s.ProgramIds;
        var seqs = new List<ulong>();
        using (var rb = new BpfRingBuffer(s.Map("kd_st_ring"), sample => seqs.Add(BinaryPrimitives.ReadUInt64LittleEndian(sample)), s.Map("kd_st_lost")))
        {
            Calls(50);
            while (rb.Poll(TimeSpan.FromMilliseconds(100)) > 0) { }
            Assert.Equal(0UL, rb.Lost);
            Assert.Equal(50UL, rb.Received);
        }
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (ulong)i), seqs);
        s.Dispose();
        Assert.Empty(s.NotUnloaded);
        SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
    }

    [Fact]
    public void Overflow_ReceivedPlusLostEqualsCalls()
    {
        using var s = Load();
        using var rb = new BpfRingBuffer(s.Map("kd_st_ring"), _ => { }, s.Map("kd_st_lost"));
        const int n = 5000;   // a 4 KiB ring holds ~170 events of 24 bytes
        Calls(n);
        while (rb.Poll(TimeSpan.FromMilliseconds(100)) > 0) { }
        Assert.True(rb.Lost > 0, "the ring should have overflowed");
        Assert.Equal((ulong)n, rb.Received + rb.Lost);
    }

    [Fact]
    public void CallbackException_SurfacesFromPoll()
    {
        using var s = Load();
        using var rb = new BpfRingBuffer(s.Map("kd_st_ring"), _ => throw new InvalidDataException("bad sample"));
        Calls(3);
        Assert.Throws<InvalidDataException>(() => rb.Poll(TimeSpan.FromMilliseconds(500)));
    }
}
