using System.Buffers.Binary;
using System.Runtime.InteropServices;
using KernelDebug.Core.Bpf.Native;

namespace KernelDebug.Core.Bpf;

/// <summary>
/// Consumes a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) for streaming tools: each sample is handed to a callback as a
/// span that is valid only during the call. Samples the program could not reserve (ring full) are counted by the
/// program in a per-CPU counter (<paramref name="lostCounter"/>[index]); <see cref="Lost"/> sums it.
/// </summary>
public sealed unsafe class BpfRingBuffer : IDisposable
{
    private readonly RingBufferHandle _ring;
    private readonly GCHandle _self;
    private readonly SampleHandler _onSample;
    private readonly BpfMap? _lostCounter;
    private readonly uint _lostIndex;
    private Exception? _callbackError;

    /// <summary>Receives one sample; the span is only valid during the call.</summary>
    public delegate void SampleHandler(ReadOnlySpan<byte> sample);

    /// <summary>Opens a consumer on <paramref name="ring"/>.</summary>
    public BpfRingBuffer(BpfMap ring, SampleHandler onSample, BpfMap? lostCounter = null, uint lostIndex = 0)
    {
        _onSample = onSample;
        _lostCounter = lostCounter;
        _lostIndex = lostIndex;
        _self = GCHandle.Alloc(this);
        nint rb = Libbpf.ring_buffer__new(ring.Fd, &OnSample, GCHandle.ToIntPtr(_self), null);
        if (rb == 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _self.Free();
            throw new ErrnoException($"ring_buffer__new({ring.Name})", errno == 0 ? ErrnoException.EINVAL : errno);
        }
        _ring = new RingBufferHandle(rb);
    }

    /// <summary>Samples handed to the callback so far.</summary>
    public ulong Received { get; private set; }

    /// <summary>Samples the BPF program dropped because the ring was full (0 without a lost counter).</summary>
    public ulong Lost
    {
        get
        {
            if (_lostCounter is null) return 0;
            var key = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(key, _lostIndex);
            var value = new byte[_lostCounter.ReadValueSize];
            if (!_lostCounter.TryLookup(key, value)) return 0;
            ulong n = 0;
            for (int cpu = 0; cpu < _lostCounter.PossibleCpus; cpu++) n += BinaryPrimitives.ReadUInt64LittleEndian(_lostCounter.CpuSlot(value, cpu));
            return n;
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for samples and consumes all available; returns how many. EINTR counts as zero.</summary>
    public int Poll(TimeSpan timeout)
    {
        int r = Libbpf.ring_buffer__poll(_ring.DangerousGetHandle(), (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue));
        if (_callbackError is { } e)
        {
            _callbackError = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
        }
        if (r == -4 /* EINTR */) return 0;
        return ErrnoException.Check(r, "ring_buffer__poll");
    }

    [UnmanagedCallersOnly]
    private static int OnSample(nint ctx, void* data, nuint size)
    {
        var self = (BpfRingBuffer)GCHandle.FromIntPtr(ctx).Target!;
        try
        {
            self._onSample(new ReadOnlySpan<byte>(data, (int)size));
            self.Received++;
            return 0;
        }
        catch (Exception e)
        {
            self._callbackError = e;
            return -1;   // stops this poll; Poll rethrows
        }
    }

    /// <summary>Frees the consumer (the map belongs to its session).</summary>
    public void Dispose()
    {
        _ring.Dispose();
        if (_self.IsAllocated) _self.Free();
    }
}
