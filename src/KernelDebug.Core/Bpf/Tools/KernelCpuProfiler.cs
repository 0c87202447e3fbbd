using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using KernelDebug.Core.Bpf.Native;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// The kernel side of Measure-KernelCpuProfile: one cpu-clock perf event per CPU at the chosen frequency drives
/// profile.bpf.c, which counts samples per process and kernel + user stack. Kernel frames are symbolized through
/// kallsyms, user frames through the ELF symbols of the file /proc/PID/maps maps there (else binary+offset).
/// </summary>
public sealed class KernelCpuProfiler : Engine.BpfTool<KernelCpuSample>
{
    internal const int StackDepth = 64;

    private readonly KernelCpuProfileOptions _options;
    private readonly Lazy<KernelSymbolTable?> _symbolTable;
    // kallsyms is parsed on the first read, not before attach: attaching fast matters more than the first report.
    private KernelSymbolTable? _symbols => _symbolTable.Value;
    private readonly Dictionary<int, IReadOnlyList<StackFrame>> _kernelStacks = new();

    // Samples carry no BPF cost, so statistics stay off.
    private KernelCpuProfiler(KernelRoot root, KernelCpuProfileOptions options, Action<string>? verbose)
        : base(root, options with { Filter = new Engine.BpfTaskFilter { ProcessIds = options.ProcessIds, Cgroup = options.Cgroup }, ProgramStatistics = false })
    {
        _options = options;
        _symbolTable = KernelSymbolTable.LoadLater(root, verbose, "kernel frames");
    }

    /// <summary>CPUs sampled.</summary>
    public IReadOnlyList<int> Cpus { get; private set; } = Array.Empty<int>();

    /// <summary>Checks the options and preconditions, loads, and attaches one perf event per CPU.</summary>
    public static KernelCpuProfiler Start(KernelRoot root, KernelCpuProfileOptions options, Action<string>? verbose = null) =>
        Launch(new KernelCpuProfiler(root, options, verbose), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "profile";
    /// <inheritdoc />
    protected override string? GenerationMap => "kd_pf_ctl";
    /// <summary>Always PerfEvent: the program runs on per-CPU sampling events.</summary>
    protected override IReadOnlyList<BpfAttachMethod> Preference => [BpfAttachMethod.PerfEvent];
    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method) => ["kd_pf_sample"];

    /// <inheritdoc />
    protected override void Validate()
    {
        if (_options.Frequency is < 1 or > 10000)
            throw new KernelDebugException("InvalidFrequency", KernelErrorCategory.InvalidArgument, "-Frequency must be between 1 and 10000 Hz.", null, _options.Frequency);
        var online = CpuList.Online(Root);
        var cpus = _options.Cpus.Count > 0 ? _options.Cpus.Distinct().OrderBy(c => c).ToList() : online.ToList();
        if (cpus.FirstOrDefault(c => !online.Contains(c), -1) is var bad && bad >= 0)
            throw new KernelDebugException("CpuNotOnline", KernelErrorCategory.InvalidArgument, $"CPU {bad} is not online (online: {string.Join(",", online)}).", null, bad);
        Cpus = cpus;
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession session, BpfAttachMethod method)
    {
        if (_options.KernelOnly) session.SetGlobal("targ_kernel_only", (byte)1);
        if (_options.IncludeIdle) session.SetGlobal("targ_include_idle", (byte)1);
    }

    /// <summary>One cpu-clock perf event per CPU at the frequency; the link takes each fd over.</summary>
    protected override void Attach(BpfSession session)
    {
        foreach (int cpu in Cpus)
        {
            int fd = PerfEvent.OpenCpuClock(cpu, _options.Frequency);
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
    }

    /// <inheritdoc />
    protected override IReadOnlyList<KernelCpuSample> Decode(Engine.BpfInterval interval)
    {
        var maps = new Dictionary<int, List<MapsEntry>>();
        var samples = new Dictionary<(int Pid, string Comm, int K, int U), long>();
        foreach (var (k, v) in interval.Drain("kd_pf_counts"))
        {
            var pf = BpfAbi.Read<PfKey>(k);
            var key = ((int)pf.Tgid, pf.CommText(), pf.Kstack, pf.Ustack);
            samples[key] = samples.GetValueOrDefault(key) + (long)BinaryPrimitives.ReadUInt64LittleEndian(v);
        }
        var list = new List<KernelCpuSample>(samples.Count);
        foreach (var ((pid, comm, k, u), n) in samples)
        {
            var kernel = KernelStack(k);
            var user = UserStack(u, pid, maps);
            var frames = kernel.Concat(user).ToList();
            list.Add(new KernelCpuSample { ProcessId = pid, Command = comm, Frames = frames, KernelFrameCount = kernel.Count, Count = n, StartTime = interval.Start, EndTime = interval.End });
        }
        list.Sort((a, b) => b.Count.CompareTo(a.Count));
        return list;
    }

    private ulong[] ReadStack(int id)
    {
        var map = Session.Map("kd_pf_stacks");
        var key = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(key, id);
        var value = new byte[map.ReadValueSize];
        return map.TryLookup(key, value) ? BpfStacks.DecodeAddresses(value) : [];
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
        if (!maps.TryGetValue(pid, out var m)) maps[pid] = m = ReadMaps(Root, pid);
        return ReadStack(id).Select(ip => UserFrame(ip, m, path => Root.IsLive ? ElfSymbolTable.ForFile(path) : null)).ToList();
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

    internal static List<MapsEntry> ReadMaps(KernelRoot root, int pid) =>
        root.TryReadText($"proc/{pid}/maps") is { } text ? ParseMaps(text) : new List<MapsEntry>();

}
