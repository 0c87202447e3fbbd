using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using KernelDebug.Core.Bpf.Native;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;
using Stopwatch = System.Diagnostics.Stopwatch;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// The kernel side of Measure-KernelCpuProfile: one cpu-clock perf event per CPU at the chosen frequency drives
/// profile.bpf.c, which counts samples per process and kernel + user stack. Kernel frames are symbolized through
/// kallsyms, user frames through the ELF symbols of the file /proc/PID/maps maps there (else binary+offset).
/// </summary>
public sealed class KernelCpuProfiler : IBpfMeter<KernelCpuSample>
{
    internal const int MaxProcessIds = 16, StackDepth = 64;

    private readonly BpfSession _session;
    private readonly Lazy<KernelSymbolTable?> _symbolTable;
    // kallsyms is parsed on the first read, not before attach: attaching fast matters more than the first report.
    private KernelSymbolTable? _symbols => _symbolTable.Value;
    private readonly KernelRoot _root;
    private readonly Dictionary<int, IReadOnlyList<StackFrame>> _kernelStacks = new();
    private uint _generation;
    private DateTimeOffset _intervalStart;

    private KernelCpuProfiler(BpfSession session, KernelRoot root, Lazy<KernelSymbolTable?> symbols)
    {
        _session = session;
        _root = root;
        _symbolTable = symbols;
        _intervalStart = DateTimeOffset.Now;
    }

    /// <summary>Always PerfEvent: the program runs on per-CPU sampling events.</summary>
    public BpfAttachMethod AttachMethod => BpfAttachMethod.PerfEvent;
    /// <inheritdoc />
    public BpfSession Session => _session;
    /// <summary>CPUs sampled.</summary>
    public IReadOnlyList<int> Cpus { get; private set; } = Array.Empty<int>();
    /// <summary>Milliseconds from <see cref="Start"/> being called to sampling on every CPU.</summary>
    public double StartMilliseconds { get; private set; }

    /// <summary>Checks the options and preconditions, loads, and attaches one perf event per CPU.</summary>
    public static KernelCpuProfiler Start(KernelRoot root, KernelCpuProfileOptions options, Action<string>? verbose = null)
    {
        var sw = Stopwatch.StartNew();
        if (options.Frequency is < 1 or > 10000)
            throw new KernelDebugException("InvalidFrequency", KernelErrorCategory.InvalidArgument, "-Frequency must be between 1 and 10000 Hz.", null, options.Frequency);
        if (options.ProcessIds.Count > MaxProcessIds)
            throw new KernelDebugException("TooManyProcessIds", KernelErrorCategory.InvalidArgument,
                $"At most {MaxProcessIds} process ids can be filtered in the kernel; {options.ProcessIds.Count} were given.", "Give fewer -ProcessId values.", options.ProcessIds.Count);
        var online = OnlineCpus(root);
        var cpus = options.Cpus.Count > 0 ? options.Cpus.Distinct().OrderBy(c => c).ToList() : online.ToList();
        if (cpus.FirstOrDefault(c => !online.Contains(c), -1) is var bad && bad >= 0)
            throw new KernelDebugException("CpuNotOnline", KernelErrorCategory.InvalidArgument, $"CPU {bad} is not online (online: {string.Join(",", online)}).", null, bad);
        BpfPreconditions.RequireBtf(root);
        BpfPreconditions.RequireCapabilities(root);
        BpfPreconditions.EnsureMemlock(root, verbose);
        var symbols = new Lazy<KernelSymbolTable?>(() =>
        {
            var t = KernelSymbolTable.TryLoad(root);
            if (t is null) verbose?.Invoke("kallsyms is unreadable or hidden (kptr_restrict): kernel frames stay unsymbolized.");
            return t;
        });

        var session = BpfSession.Open(BpfSession.ReadEmbeddedObject("profile"), "kd_profile", verbose);
        try
        {
            if (options.ProcessIds.Count > 0)
            {
                session.SetGlobal<uint>("targ_tgids", options.ProcessIds.Select(p => (uint)p).ToArray());
                session.SetGlobal("targ_ntgids", (uint)options.ProcessIds.Count);
            }
            if (options.KernelOnly) session.SetGlobal("targ_kernel_only", (byte)1);
            if (options.IncludeIdle) session.SetGlobal("targ_include_idle", (byte)1);
            session.Load();
            foreach (int cpu in cpus)
            {
                int fd = PerfEvent.OpenCpuClock(cpu, options.Frequency);
                if (fd < 0)
                {
                    int errno = -fd;
                    if (errno is ErrnoException.EPERM or ErrnoException.EACCES)
                        throw BpfPreconditions.BpfPermissionDenied(new ErrnoException("perf_event_open", errno));
                    if (errno == 2 /* ENOENT */ || errno == 95 /* EOPNOTSUPP */)
                        throw KernelErrors.FeatureMissing("PerfEventsMissing", "perf events (perf_event_open cpu-clock)",
                            "Boot a kernel built with CONFIG_PERF_EVENTS=y.", "perf_event_open");
                    throw new ErrnoException($"perf_event_open(cpu {cpu})", errno);
                }
                session.AttachPerfEvent("kd_pf_sample", fd);
            }
            verbose?.Invoke($"profile sampling {cpus.Count} CPU(s) at {options.Frequency} Hz: load {session.LoadMilliseconds:F1} ms.");
            return new KernelCpuProfiler(session, root, symbols) { Cpus = cpus, StartMilliseconds = sw.Elapsed.TotalMilliseconds };
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static IReadOnlyList<int> OnlineCpus(KernelRoot root)
    {
        var text = root.TryReadValue("sys/devices/system/cpu/online");
        var ctx = new ParseContext("sys/devices/system/cpu/online");
        if (text is not null && CpuList.Parse(text, ctx) is { Count: > 0 } list) return list.ToList();
        return Enumerable.Range(0, Environment.ProcessorCount).ToList();
    }

    /// <inheritdoc />
    public IReadOnlyList<KernelCpuSample> CollectInterval() => Drain([BpfToolLoader.FlipGeneration(_session, "kd_pf_ctl", ref _generation)]);

    /// <inheritdoc />
    public IReadOnlyList<KernelCpuSample> Finish()
    {
        _session.Detach();
        return Drain([_generation, _generation ^ 1]);
    }

    private List<KernelCpuSample> Drain(uint[] generations)
    {
        var end = DateTimeOffset.Now;
        var counts = _session.Map("kd_pf_counts");
        var maps = new Dictionary<int, List<MapsEntry>>();
        var samples = new Dictionary<(int Pid, string Comm, int K, int U), long>();
        var userStacks = new Dictionary<int, ulong[]>();
        foreach (var gen in generations)
            foreach (var (k, v) in BpfToolLoader.DrainGeneration(counts, gen))
            {
                var key = ((int)BinaryPrimitives.ReadUInt32LittleEndian(k.AsSpan(4)), Encoding.UTF8.GetString(k.AsSpan(16, 16)).TrimEnd('\0'),
                           BinaryPrimitives.ReadInt32LittleEndian(k.AsSpan(8)), BinaryPrimitives.ReadInt32LittleEndian(k.AsSpan(12)));
                samples[key] = samples.GetValueOrDefault(key) + (long)BinaryPrimitives.ReadUInt64LittleEndian(v);
            }
        var list = new List<KernelCpuSample>(samples.Count);
        foreach (var ((pid, comm, k, u), n) in samples)
        {
            var kernel = KernelStack(k);
            var user = UserStack(u, pid, maps);
            var frames = kernel.Concat(user).ToList();
            list.Add(new KernelCpuSample { ProcessId = pid, Command = comm, Frames = frames, KernelFrameCount = kernel.Count, Count = n, StartTime = _intervalStart, EndTime = end });
        }
        _intervalStart = end;
        list.Sort((a, b) => b.Count.CompareTo(a.Count));
        return list;
    }

    private ulong[] ReadStack(int id)
    {
        var map = _session.Map("kd_pf_stacks");
        var key = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(key, id);
        var value = new byte[map.ReadValueSize];
        if (!map.TryLookup(key, value)) return [];
        var ips = new List<ulong>();
        for (int i = 0; i + 8 <= value.Length; i += 8)
        {
            ulong ip = BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(i));
            if (ip == 0) break;
            ips.Add(ip);
        }
        return ips.ToArray();
    }

    private IReadOnlyList<StackFrame> KernelStack(int id)
    {
        if (id < 0) return Array.Empty<StackFrame>();
        if (_kernelStacks.TryGetValue(id, out var cached)) return cached;
        var frames = ReadStack(id).Select(ip => _symbols?.Resolve(ip)?.ToFrame() ?? new StackFrame { Function = $"0x{ip:x}", Address = ip, Reliable = false }).ToList();
        return _kernelStacks[id] = LockContentionMeter.TrimTracing(frames);
    }

    private IReadOnlyList<StackFrame> UserStack(int id, int pid, Dictionary<int, List<MapsEntry>> maps)
    {
        if (id < 0) return Array.Empty<StackFrame>();
        if (!maps.TryGetValue(pid, out var m)) maps[pid] = m = ReadMaps(_root, pid);
        return ReadStack(id).Select(ip => UserFrame(ip, m, path => _root.IsLive ? ElfSymbolTable.ForFile(path) : null)).ToList();
    }

    /// <summary>
    /// A user address as function+offset from the ELF symbols (.symtab, else .dynsym) of the mapped file, else
    /// binary+file offset, else the bare address. <paramref name="symbols"/> gives a file's table (null: no lookup).
    /// </summary>
    public static StackFrame UserFrame(ulong ip, IReadOnlyList<MapsEntry> maps, Func<string, ElfSymbolTable?>? symbols = null)
    {
        foreach (var e in maps)
            if (ip >= e.Start && ip < e.End)
            {
                string module = Path.GetFileName(e.Path);
                ulong offset = ip - e.Start + e.Offset;
                if (e.Path.StartsWith('/') && symbols?.Invoke(e.Path)?.Resolve(offset) is { } fn)
                    return new StackFrame { Function = fn.Name, Offset = (long)fn.Offset, Module = module, Address = ip, Context = "user" };
                return new StackFrame { Function = $"{module}+0x{offset:x}", Module = module, Address = ip, Context = "user" };
            }
        return new StackFrame { Function = $"0x{ip:x}", Address = ip, Reliable = false, Context = "user" };
    }

    /// <summary>A file-backed mapping of /proc/PID/maps.</summary>
    public sealed record MapsEntry(ulong Start, ulong End, ulong Offset, string Path);

    /// <summary>Parses /proc/PID/maps text: file-backed and bracketed ([vdso]) mappings; malformed lines are skipped and reported to <paramref name="ctx"/>.</summary>
    public static List<MapsEntry> ParseMaps(string text, ParseContext? ctx = null)
    {
        var list = new List<MapsEntry>();
        int n = 0;
        foreach (var line in text.Split('\n'))
        {
            n++;
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6) continue;
            var range = parts[0].Split('-');
            if (range.Length != 2 || !Fields.TryHex(range[0], out var start) || !Fields.TryHex(range[1], out var end) || !Fields.TryHex(parts[2], out var offset))
            {
                ctx?.Warn(n, "expected 'start-end perms offset dev inode path' in hex", line);
                continue;
            }
            list.Add(new MapsEntry(start, end, offset, parts[5].Trim()));
        }
        return list;
    }

    private static List<MapsEntry> ReadMaps(KernelRoot root, int pid) =>
        root.TryReadText($"proc/{pid}/maps") is { } text ? ParseMaps(text) : new List<MapsEntry>();

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
