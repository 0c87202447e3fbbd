using System.Buffers.Binary;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// Reads and symbolizes the stacks of a kd_stack.bpf.h table (u64 hash → 32 frames): kernel frames from kallsyms
/// (parsed on first use, so tools attach before it), user frames from the process's mappings and their ELF symbols;
/// both cached per key. Stacks no longer referenced can be dropped (<see cref="Collect"/>).
/// </summary>
public sealed class BpfStacks
{
    private readonly BpfSession _session;
    private readonly string _map;
    private readonly KernelRoot _root;
    private readonly Lazy<KernelSymbolTable?> _symbols;
    private readonly Dictionary<ulong, IReadOnlyList<StackFrame>> _kernel = new();
    private readonly Dictionary<(ulong, int), IReadOnlyList<StackFrame>> _user = new();
    private readonly Dictionary<int, List<KernelCpuProfiler.MapsEntry>> _maps = new();

    /// <summary>Stacks of map <paramref name="map"/> of <paramref name="session"/>.</summary>
    public BpfStacks(BpfSession session, string map, KernelRoot root, Action<string>? verbose = null)
    {
        _session = session;
        _map = map;
        _root = root;
        _symbols = KernelSymbolTable.LoadLater(root, verbose, "kernel stacks");
    }

    /// <summary>The kernel symbols (null when kallsyms is hidden).</summary>
    public KernelSymbolTable? Symbols => _symbols.Value;

    /// <summary>Instruction pointers of a stack, innermost first; empty when the key is 0 or unknown.</summary>
    public ulong[] Addresses(ulong key)
    {
        if (key == 0) return [];
        var map = _session.Map(_map);
        var value = new byte[map.ReadValueSize];
        return map.TryLookup(BitConverter.GetBytes(key), value) ? DecodeAddresses(value) : [];
    }

    /// <summary>The instruction pointers of a stack map value (u64s, innermost first, ending at the first 0).</summary>
    public static ulong[] DecodeAddresses(ReadOnlySpan<byte> value)
    {
        var ips = new List<ulong>();
        for (int i = 0; i + 8 <= value.Length; i += 8)
        {
            ulong ip = BinaryPrimitives.ReadUInt64LittleEndian(value[i..]);
            if (ip == 0) break;
            ips.Add(ip);
        }
        return ips.ToArray();
    }

    /// <summary>A kernel stack, innermost first, without the tracing frames on top.</summary>
    public IReadOnlyList<StackFrame> Kernel(ulong key)
    {
        if (key == 0) return Array.Empty<StackFrame>();
        if (_kernel.TryGetValue(key, out var cached)) return cached;
        var frames = Addresses(key).Select(ip => Symbols?.Resolve(ip)?.ToFrame() ?? new StackFrame { Function = $"0x{ip:x}", Address = ip, Reliable = false }).ToList();
        return _kernel[key] = LockContentionMeter.TrimTracing(frames);
    }

    /// <summary>A user stack of process <paramref name="pid"/>, innermost first.</summary>
    public IReadOnlyList<StackFrame> User(ulong key, int pid)
    {
        if (key == 0) return Array.Empty<StackFrame>();
        if (_user.TryGetValue((key, pid), out var cached)) return cached;
        if (!_maps.TryGetValue(pid, out var m)) _maps[pid] = m = KernelCpuProfiler.ReadMaps(_root, pid);
        return _user[(key, pid)] = Addresses(key).Select(ip => KernelCpuProfiler.UserFrame(ip, m, path => _root.IsLive ? ElfSymbolTable.ForFile(path) : null)).ToList();
    }

    /// <summary>Deletes the stacks none of <paramref name="referenced"/> names, so the table does not fill with old ones.</summary>
    public void Collect(IReadOnlySet<ulong> referenced)
    {
        var map = _session.Map(_map);
        var stale = map.ReadAll().Select(kv => kv.Key).Where(k => !referenced.Contains(BinaryPrimitives.ReadUInt64LittleEndian(k))).ToList();
        if (stale.Count == 0) return;
        map.Delete(stale);
        foreach (var k in stale) _kernel.Remove(BinaryPrimitives.ReadUInt64LittleEndian(k));
    }

    /// <summary>Forgets the mappings read for processes (they may have changed by the next interval).</summary>
    public void ForgetMappings()
    {
        _maps.Clear();
        _user.Clear();
    }
}
