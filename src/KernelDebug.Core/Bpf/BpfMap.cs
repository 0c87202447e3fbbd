using KernelDebug.Core.Bpf.Native;

namespace KernelDebug.Core.Bpf;

/// <summary>
/// A map of a loaded BPF object: raw key/value access, whole-map reads (batched where the kernel supports it) and
/// deletes. Per-CPU maps return one value slot per possible CPU, each <see cref="ValueStride"/> bytes.
/// </summary>
public sealed unsafe class BpfMap
{
    private const uint TypePercpuHash = 5, TypePercpuArray = 6, TypeLruPercpuHash = 10;
    private bool _batchUnsupported;

    internal BpfMap(string name, int fd, uint type, int keySize, int valueSize)
    {
        Name = name;
        Fd = fd;
        Type = type;
        KeySize = keySize;
        ValueSize = valueSize;
        IsPerCpu = type is TypePercpuHash or TypePercpuArray or TypeLruPercpuHash;
        PossibleCpus = IsPerCpu ? Math.Max(1, Libbpf.libbpf_num_possible_cpus()) : 1;
        ValueStride = IsPerCpu ? (valueSize + 7) & ~7 : valueSize;
    }

    /// <summary>The map's name (kd_...).</summary>
    public string Name { get; }
    internal int Fd { get; }
    /// <summary>enum bpf_map_type.</summary>
    public uint Type { get; }
    /// <summary>Key size in bytes.</summary>
    public int KeySize { get; }
    /// <summary>Value size in bytes (per CPU for per-CPU maps).</summary>
    public int ValueSize { get; }
    /// <summary>Whether values are per CPU.</summary>
    public bool IsPerCpu { get; }
    /// <summary>Number of per-CPU slots in a value read (1 for ordinary maps).</summary>
    public int PossibleCpus { get; }
    /// <summary>Bytes between per-CPU slots of a value read.</summary>
    public int ValueStride { get; }
    /// <summary>Bytes a lookup writes: <see cref="ValueStride"/> × <see cref="PossibleCpus"/>.</summary>
    public int ReadValueSize => ValueStride * PossibleCpus;
    /// <summary>Whether the last <see cref="ReadAll"/> used batch lookup.</summary>
    public bool UsedBatch { get; private set; }

    /// <summary>Looks a key up; false when absent.</summary>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        if (value.Length < ReadValueSize) throw new ArgumentException("value buffer too small", nameof(value));
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            int r = Libbpf.bpf_map_lookup_elem(Fd, k, v);
            if (r == -ErrnoException.ENOENT) return false;
            ErrnoException.Check(r, $"bpf_map_lookup_elem({Name})");
            return true;
        }
    }

    /// <summary>Creates or replaces an element (flags: 0 any, 1 only new, 2 only existing).</summary>
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags = 0)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
            ErrnoException.Check(Libbpf.bpf_map_update_elem(Fd, k, v, flags), $"bpf_map_update_elem({Name})");
    }

    /// <summary>Reads every element: batch lookup where the kernel has it (5.6+ hash and array maps), else key by key.</summary>
    public List<KeyValuePair<byte[], byte[]>> ReadAll()
    {
        if (!_batchUnsupported)
        {
            var r = TryReadBatch();
            if (r is not null) { UsedBatch = true; return r; }
            _batchUnsupported = true;
        }
        UsedBatch = false;
        return ReadByKey();
    }

    private List<KeyValuePair<byte[], byte[]>>? TryReadBatch()
    {
        var result = new List<KeyValuePair<byte[], byte[]>>();
        int capacity = 256;
        var opts = new Libbpf.BpfMapBatchOpts { Size = (nuint)sizeof(Libbpf.BpfMapBatchOpts) };
        while (true)
        {
            var keys = new byte[KeySize * capacity];
            var values = new byte[ReadValueSize * capacity];
            var inBatch = new byte[Math.Max(8, KeySize)];
            var outBatch = new byte[Math.Max(8, KeySize)];
            bool first = true, retry = false;
            result.Clear();
            while (true)
            {
                uint count = (uint)capacity;
                int r;
                fixed (byte* k = keys) fixed (byte* v = values) fixed (byte* ib = inBatch) fixed (byte* ob = outBatch)
                    r = Libbpf.bpf_map_lookup_batch(Fd, first ? null : ib, ob, k, v, &count, &opts);
                if (r < 0 && r != -ErrnoException.ENOENT)
                {
                    if (r == -ErrnoException.ENOSPC && capacity < 1 << 16) { capacity *= 4; retry = true; break; }
                    if (first && r is -ErrnoException.EINVAL or -ErrnoException.ENOTSUPP or -ErrnoException.EOPNOTSUPP) return null;
                    ErrnoException.Check(r, $"bpf_map_lookup_batch({Name})");
                }
                for (int i = 0; i < count; i++)
                    result.Add(new(keys.AsSpan(i * KeySize, KeySize).ToArray(), values.AsSpan(i * ReadValueSize, ReadValueSize).ToArray()));
                if (r == -ErrnoException.ENOENT) return result;
                outBatch.CopyTo(inBatch, 0);
                first = false;
            }
            if (!retry) return result;
        }
    }

    private List<KeyValuePair<byte[], byte[]>> ReadByKey()
    {
        var result = new List<KeyValuePair<byte[], byte[]>>();
        var prev = new byte[KeySize];
        var next = new byte[KeySize];
        var value = new byte[ReadValueSize];
        bool first = true;
        while (true)
        {
            int r;
            fixed (byte* p = prev) fixed (byte* n = next) r = Libbpf.bpf_map_get_next_key(Fd, first ? null : p, n);
            if (r == -ErrnoException.ENOENT) return result;
            ErrnoException.Check(r, $"bpf_map_get_next_key({Name})");
            if (TryLookup(next, value)) result.Add(new(next.ToArray(), value.ToArray()));
            next.CopyTo(prev, 0);
            first = false;
        }
    }

    /// <summary>Deletes the given keys (missing keys are ignored).</summary>
    public void Delete(IReadOnlyList<byte[]> keys)
    {
        if (keys.Count == 0) return;
        if (!_batchUnsupported)
        {
            var all = new byte[keys.Count * KeySize];
            for (int i = 0; i < keys.Count; i++) keys[i].CopyTo(all, i * KeySize);
            uint count = (uint)keys.Count;
            var opts = new Libbpf.BpfMapBatchOpts { Size = (nuint)sizeof(Libbpf.BpfMapBatchOpts) };
            int r;
            fixed (byte* k = all) r = Libbpf.bpf_map_delete_batch(Fd, k, &count, &opts);
            if (r == 0) return;
        }
        foreach (var key in keys)
            fixed (byte* k = key)
            {
                int r = Libbpf.bpf_map_delete_elem(Fd, k);
                if (r < 0 && r != -ErrnoException.ENOENT) ErrnoException.Check(r, $"bpf_map_delete_elem({Name})");
            }
    }

    /// <summary>The per-CPU slot <paramref name="cpu"/> of a value returned by a read.</summary>
    public ReadOnlySpan<byte> CpuSlot(ReadOnlySpan<byte> value, int cpu) => value.Slice(cpu * ValueStride, ValueSize);
}
