using System.Net;
using System.Net.Sockets;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Measure-InterruptTime against the kernel's own counters: /proc/softirqs and /proc/interrupts read just after the
/// programs attached and just before they detach bound what must be counted from below (less the runs under way at
/// the last reading), read before attach and after detach from above. Every softirq vector and every unshared IRQ line must fall in between, per CPU too.
/// </summary>
[Collection(LiveBpf.Name)]
public class InterruptTimeLiveTests
{
    private sealed record Counters(Dictionary<(InterruptKind, int, int), ulong> PerCpu, IReadOnlyDictionary<int, string> Handlers)
    {
        public static Counters Read()
        {
            var d = new Dictionary<(InterruptKind, int, int), ulong>();
            var soft = InterruptsReader.ReadSoftirqs(KernelRoot.Live);
            for (int v = 0; v < soft.Count; v++)
                for (int c = 0; c < soft[v].PerCpu.Count; c++)
                    d[(InterruptKind.Soft, v, c)] = soft[v].PerCpu[c];
            var handlers = new Dictionary<int, string>();
            foreach (var line in InterruptsReader.Read(KernelRoot.Live, new ParseContext("/proc/interrupts")))
            {
                // A shared line counts once per interrupt in /proc/interrupts but once per handler here.
                if (line.Handlers.Count != 1) continue;
                handlers[line.Irq] = line.Handlers[0];
                for (int c = 0; c < line.PerCpu.Count; c++) d[(InterruptKind.Hard, line.Irq, c)] = line.PerCpu[c];
            }
            return new Counters(d, handlers);
        }

        public ulong Delta(Counters later, (InterruptKind Kind, int Irq, int? Cpu) key) =>
            later.PerCpu.Where(kv => kv.Key.Item1 == key.Kind && kv.Key.Item2 == key.Irq && (key.Cpu is null || kv.Key.Item3 == key.Cpu))
                .Aggregate(0UL, (s, kv) => s + kv.Value - PerCpu.GetValueOrDefault(kv.Key));
    }

    private static (IReadOnlyList<InterruptTime> Records, Counters Before, Counters Attached, Counters Detaching, Counters After) Measure(InterruptTimeOptions options, Action load)
    {
        var before = Counters.Read();
        var meter = InterruptTimeMeter.Start(KernelRoot.Live, options);
        Counters attached = null!, detaching = null!;
        var records = LiveBpf.Measure(meter, () =>
        {
            attached = Counters.Read();
            load();
            detaching = Counters.Read();
        });
        return (records, before, attached, detaching, Counters.Read());
    }

    /// <summary>Loopback UDP: every datagram is delivered through NET_RX on the sending CPU.</summary>
    private static void LoopbackTraffic(int datagrams)
    {
        using var rx = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        rx.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var tx = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var buf = new byte[512];
        for (int i = 0; i < datagrams; i++)
        {
            tx.SendTo(buf, rx.LocalEndPoint!);
            rx.Receive(buf);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EverySoftirqVectorAndIrqLine_FallsBetweenTheKernelsCounters(bool perCpu)
    {
        var (records, before, attached, detaching, after) = Measure(new InterruptTimeOptions { PerCpu = perCpu }, () =>
        {
            LoopbackTraffic(2000);
            Thread.Sleep(200);
        });
        Assert.NotEmpty(records);
        ulong missed = records[0].MissedEvents, uncounted = records[0].Uncounted;
        var keys = attached.PerCpu.Keys.Select(k => (Kind: k.Item1, Irq: k.Item2, Cpu: perCpu ? k.Item3 : (int?)null)).Distinct();
        foreach (var key in keys)
        {
            var ours = records.Where(r => r.Kind == key.Kind && r.Irq == key.Irq && r.Cpu == key.Cpu).ToList();
            ulong counted = ours.Aggregate(0UL, (s, r) => s + r.Count);
            ulong lower = attached.Delta(detaching, key), upper = before.Delta(after, key);
            // The kernel counts a run before its entry tracepoint, so a run under way on a CPU when the last counters
            // were read ends after the programs are gone: one per CPU the key covers (vectors and lines do not nest).
            ulong inFlight = key.Cpu is null ? (ulong)Environment.ProcessorCount : 1;
            Assert.True(counted + missed + uncounted + inFlight >= lower && counted <= upper,
                $"{key}: counted {counted} (skipped runs {missed}, uncounted {uncounted}), the kernel counted {lower} while attached and {upper} around it");
            if (key.Kind == InterruptKind.Hard && ours.Count > 0) Assert.Equal(attached.Handlers[key.Irq], Assert.Single(ours).Name);
        }
        // The workload's own effects, so the bounds above were not met by zeros.
        var netRx = records.Where(r => r.Kind == InterruptKind.Soft && r.Name == "NET_RX").ToList();
        Assert.True(netRx.Sum(r => (long)r.Count) >= 1000, $"NET_RX ran {netRx.Sum(r => (long)r.Count)} times for 2000 loopback datagrams");
        Assert.Contains(records, r => r is { Kind: InterruptKind.Soft, Name: "TIMER", Count: > 0 });
        Assert.All(records, r =>
        {
            Assert.True(r.Min <= r.P50 && r.P50 <= r.P99 && r.P99 <= r.Max, $"{r.Name}: percentiles out of order");
            Assert.Equal(r.Count, r.Histogram.Count);
            Assert.InRange(r.CpuPercent, 0, 100);
            Assert.Equal(perCpu, r.Cpu is not null);
        });
    }

    [Fact]
    public void DirectWrites_RaiseTheRootDisksInterruptHandler()
    {
        // The disk holding the test's files, and the virtio device behind it (its queue handler is "virtio1-req.0").
        string dir = AppContext.BaseDirectory;
        var mount = File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Where(f => dir.StartsWith(f[4], StringComparison.Ordinal))
            .MaxBy(f => f[4].Length)!;
        string name = Path.GetFileName(mount[Array.IndexOf(mount, "-") + 2]);
        string sys = new DirectoryInfo($"/sys/class/block/{name}").ResolveLinkTarget(true)!.FullName;
        if (File.Exists($"/sys/class/block/{name}/partition")) sys = Path.GetDirectoryName(sys)!;
        string whole = Path.GetFileName(sys);
        string virtio = Path.GetFileName(new DirectoryInfo($"/sys/block/{whole}/device").ResolveLinkTarget(true)?.FullName ?? "");
        Assert.StartsWith("virtio", virtio);   // machines of this kind boot from a virtio disk
        const int writes = 50;
        string file = Path.Combine(dir, $"irq-oracle-{Environment.ProcessId}.bin");
        try
        {
            var (records, _, attached, detaching, _) = Measure(new InterruptTimeOptions { Kinds = [InterruptKind.Hard], NameFilter = n => n.StartsWith(virtio + "-", StringComparison.Ordinal) }, () =>
            {
                // Synchronous direct writes: each one waits for its completion interrupt before the next is issued.
                using var dd = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dd", $"if=/dev/zero of={file} bs=4096 count={writes} oflag=direct,dsync status=none") { RedirectStandardError = true })!;
                Assert.True(dd.WaitForExit(60_000), "dd did not finish");
                Assert.Equal(0, dd.ExitCode);
            });
            Assert.All(records, r => Assert.Equal(InterruptKind.Hard, r.Kind));
            var req = records.Where(r => r.Name.Contains("-req", StringComparison.Ordinal) || r.Name.Contains("-request", StringComparison.Ordinal)).ToList();
            ulong ours = req.Aggregate(0UL, (s, r) => s + r.Count);
            ulong lower = req.Aggregate(0UL, (s, r) => s + attached.Delta(detaching, (InterruptKind.Hard, r.Irq, null)));
            Assert.True(ours >= writes, $"{writes} synchronous direct writes to {whole} ({virtio}) raised {ours} interrupts in its request handlers");
            Assert.True(ours >= lower, $"counted {ours}, the kernel {lower}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void KindSoft_LoadsOnlyTheSoftirqPrograms_AndNoHardRecords()
    {
        using var meter = InterruptTimeMeter.Start(KernelRoot.Live, new InterruptTimeOptions { Kinds = [InterruptKind.Soft] });
        Assert.Equal(2, meter.Session.ProgramIds.Count);
        Thread.Sleep(100);
        var records = meter.Finish();
        Assert.NotEmpty(records);
        Assert.All(records, r => Assert.Equal(InterruptKind.Soft, r.Kind));
    }

    [Fact]
    public void ATaskFilter_IsRefused_BeforeAnythingLoads()
    {
        var e = Assert.Throws<KernelDebugException>(() => InterruptTimeMeter.Start(KernelRoot.Live, new InterruptTimeOptions { Filter = new BpfTaskFilter { ProcessIds = [Environment.ProcessId] } }));
        Assert.Equal("InterruptsHaveNoTask", e.ErrorId);
        Assert.Equal(KernelErrorCategory.InvalidArgument, e.Category);
    }
}
