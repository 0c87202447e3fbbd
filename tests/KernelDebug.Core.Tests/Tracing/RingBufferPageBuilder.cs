using System.Buffers.Binary;

namespace KernelDebug.Core.Tests.Tracing;

/// <summary>Writes ring-buffer pages the way the kernel lays them out (ring_buffer.c), for decoder tests.</summary>
internal sealed class RingBufferPageBuilder
{
    private readonly byte[] _page;
    private int _pos = 16;
    private ulong _lastTs;

    public RingBufferPageBuilder(ulong pageTimestamp, int pageSize = 4096)
    {
        _page = new byte[pageSize];
        _lastTs = pageTimestamp;
        BinaryPrimitives.WriteUInt64LittleEndian(_page, pageTimestamp);
    }

    public int Remaining => _page.Length - _pos;

    private void Header(int typeLen, ulong delta) =>
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(_pos), (uint)typeLen | (uint)(delta << 5));

    /// <summary>A data record at absolute time <paramref name="ts"/>; a time-extend record first when the delta needs more than 27 bits.</summary>
    public RingBufferPageBuilder Event(ulong ts, byte[] payload, bool forceLong = false)
    {
        ulong delta = ts - _lastTs;
        if (delta >= 1UL << 27)
        {
            Header(30, delta & ((1UL << 27) - 1));
            BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(_pos + 4), (uint)(delta >> 27));
            _pos += 8;
            delta = 0;
        }
        int len = (payload.Length + 3) & ~3;
        if (!forceLong && len <= 28 * 4)
        {
            Header(len / 4, delta);
            payload.CopyTo(_page, _pos + 4);
            _pos += 4 + len;
        }
        else
        {
            Header(0, delta);
            BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(_pos + 4), (uint)(payload.Length + 4));
            payload.CopyTo(_page, _pos + 8);
            _pos += 8 + len;
        }
        _lastTs = ts;
        return this;
    }

    /// <summary>An absolute-timestamp record (59 bits split over time_delta and array[0]).</summary>
    public RingBufferPageBuilder AbsoluteTimestamp(ulong ts)
    {
        Header(31, ts & ((1UL << 27) - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(_pos + 4), (uint)((ts & ~(0xF8UL << 56)) >> 27));
        _pos += 8;
        _lastTs = ts;
        return this;
    }

    /// <summary>A discarded event turned into padding (time_delta 1, array[0] = length).</summary>
    public RingBufferPageBuilder Discarded(int payloadBytes)
    {
        Header(29, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(_pos + 4), (uint)(payloadBytes + 4));
        _pos += 4 + payloadBytes + 4;
        return this;
    }

    /// <summary>The page with its commit word; the missed-events flag and stored count when given.</summary>
    public byte[] Build(bool missedEvents = false, long? storedMissed = null, bool tailPadding = false)
    {
        int length = _pos - 16;
        if (tailPadding) { Header(29, 0); length += 4; }
        ulong commit = (ulong)length;
        if (missedEvents) commit |= 1UL << 31;
        if (storedMissed is long m)
        {
            commit |= 1UL << 30;
            BinaryPrimitives.WriteInt64LittleEndian(_page.AsSpan(16 + length), m);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(_page.AsSpan(8), commit);
        return _page;
    }

    /// <summary>A record payload: the common header and then the event's own bytes.</summary>
    public static byte[] Payload(int id, int pid, byte flags, byte preempt, int size, Action<byte[]> fill)
    {
        var b = new byte[size];
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)id);
        b[2] = flags;
        b[3] = preempt;
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), pid);
        fill(b);
        return b;
    }
}
