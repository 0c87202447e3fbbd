using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using KernelDebug.Core.Bpf.Native;
using KernelDebug.Core.Errors;

namespace KernelDebug.Core.Bpf;

/// <summary>
/// One BPF object from open to close: open from an embedded ELF image (named, so its maps are kd_...), set
/// <c>const volatile</c> globals by their BTF offsets, choose which programs load, load (with the verifier log in
/// the error on failure), attach, read maps and program statistics. Dispose detaches every link and closes the
/// object; it is safe to call more than once and from another thread than the one that opened it.
/// </summary>
public sealed unsafe class BpfSession : IDisposable
{
    private readonly object _gate = new();
    private readonly NativeBuffer _elf;
    private readonly NativeBuffer _objectName;
    private readonly BpfObjectHandle _object;
    private readonly Action<string>? _verbose;
    private readonly List<BpfLinkHandle> _links = new();
    private readonly Dictionary<string, BpfMap> _maps = new();
    private NativeBuffer? _logBuffer;
    private BpfFdHandle? _stats;
    private bool _disposed;

    private BpfSession(NativeBuffer elf, NativeBuffer objectName, nint obj, Action<string>? verbose)
    {
        _elf = elf;
        _objectName = objectName;
        _object = new BpfObjectHandle(obj);
        _verbose = verbose;
    }

    /// <summary>Milliseconds spent in open, load and attach (for benchmarks and -Verbose).</summary>
    public double OpenMilliseconds { get; private set; }
    /// <summary>Milliseconds spent in load (verification).</summary>
    public double LoadMilliseconds { get; private set; }
    /// <summary>Milliseconds spent attaching.</summary>
    public double AttachMilliseconds { get; private set; }

    /// <summary>Reads an embedded BPF object (<c>KernelDebug.Bpf.&lt;name&gt;.bpf</c>).</summary>
    public static byte[] ReadEmbeddedObject(string name)
    {
        using var s = typeof(BpfSession).Assembly.GetManifestResourceStream($"KernelDebug.Bpf.{name}.bpf")
            ?? throw new InvalidOperationException($"BPF object '{name}' is not embedded; the build compiles Bpf/Programs/{name}.bpf.c.");
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>
    /// Opens an ELF image with libbpf. <paramref name="objectName"/> names the object (its .rodata map becomes
    /// <c>&lt;first 8 chars&gt;.rodata</c>); libbpf keeps pointing into the image, so a native copy lives until Dispose.
    /// </summary>
    public static BpfSession Open(ReadOnlySpan<byte> image, string objectName, Action<string>? verbose = null)
    {
        var sw = Stopwatch.StartNew();
        var elf = new NativeBuffer(image.Length);
        image.CopyTo(new Span<byte>(elf.Pointer, image.Length));
        var nameBytes = Encoding.UTF8.GetBytes(objectName + "\0");
        var name = new NativeBuffer(nameBytes.Length);
        nameBytes.CopyTo(new Span<byte>(name.Pointer, nameBytes.Length));
        using var log = LibbpfLog.Capture(verbose);
        var opts = new Libbpf.BpfObjectOpenOpts { Size = (nuint)sizeof(Libbpf.BpfObjectOpenOpts), ObjectName = name.Pointer };
        nint obj = Libbpf.bpf_object__open_mem(elf.Pointer, (nuint)image.Length, &opts);
        if (obj == 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            elf.Dispose();
            name.Dispose();
            throw new ErrnoException("bpf_object__open_mem", errno == 0 ? ErrnoException.EINVAL : errno, log.Tail());
        }
        var session = new BpfSession(elf, name, obj, verbose);
        session.OpenMilliseconds = sw.Elapsed.TotalMilliseconds;
        return session;
    }

    /// <summary>Names of all programs in the object.</summary>
    public IReadOnlyList<string> ProgramNames
    {
        get
        {
            var names = new List<string>();
            for (nint p = Libbpf.bpf_object__next_program(Handle, 0); p != 0; p = Libbpf.bpf_object__next_program(Handle, p))
                names.Add(Marshal.PtrToStringUTF8(Libbpf.bpf_program__name(p)) ?? "");
            return names;
        }
    }

    private nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _object.DangerousGetHandle();
        }
    }

    /// <summary>Loads only the named programs: autoload is turned off for every other program of the object.</summary>
    public void SelectPrograms(IReadOnlyCollection<string> keep)
    {
        foreach (var name in ProgramNames)
        {
            nint p = Libbpf.bpf_object__find_program_by_name(Handle, name);
            Libbpf.bpf_program__set_autoload(p, keep.Contains(name));
        }
    }

    /// <summary>
    /// Skips creating a map before load (one only the unselected programs use), so the kernel neither allocates it
    /// nor needs to support its type.
    /// </summary>
    public void SkipMap(string name)
    {
        nint map = Libbpf.bpf_object__find_map_by_name(Handle, name);
        if (map == 0) throw new ArgumentException($"the BPF object has no map '{name}'", nameof(name));
        ErrnoException.Check(Libbpf.bpf_map__set_autocreate(map, false), $"bpf_map__set_autocreate({name})");
    }

    /// <summary>Sizes a map before load (a table bounded by a user option, preallocated to that size).</summary>
    public void SetMapMaxEntries(string name, uint maxEntries)
    {
        nint map = Libbpf.bpf_object__find_map_by_name(Handle, name);
        if (map == 0) throw new ArgumentException($"the BPF object has no map '{name}'", nameof(name));
        ErrnoException.Check(Libbpf.bpf_map__set_max_entries(map, maxEntries), $"bpf_map__set_max_entries({name})");
    }

    /// <summary>
    /// Writes a <c>const volatile</c> global before load. Its offset and size come from the object's BTF (the
    /// .rodata DATASEC), never from assumptions about layout; <paramref name="value"/> may be shorter than the
    /// variable (arrays), never longer.
    /// </summary>
    public void SetGlobalBytes(string variable, ReadOnlySpan<byte> value, string section = ".rodata")
    {
        nint btf = Libbpf.bpf_object__btf(Handle);
        if (btf == 0) throw new InvalidOperationException("the BPF object has no BTF");
        int secId = Libbpf.btf__find_by_name_kind(btf, section, Libbpf.BtfKindDatasec);
        if (secId < 0) throw new InvalidOperationException($"the BPF object has no {section} section");
        var sec = Libbpf.btf__type_by_id(btf, (uint)secId);
        var infos = (Libbpf.BtfVarSecinfo*)(sec + 1);
        for (int i = 0; i < sec->Vlen; i++)
        {
            var var = Libbpf.btf__type_by_id(btf, infos[i].Type);
            if (var == null || var->Kind != Libbpf.BtfKindVar) continue;
            if (Marshal.PtrToStringUTF8(Libbpf.btf__name_by_offset(btf, var->NameOffset)) != variable) continue;
            if (value.Length > infos[i].Size)
                throw new ArgumentException($"{variable} holds {infos[i].Size} bytes, not {value.Length}", nameof(value));
            var data = SectionData(section);
            value.CopyTo(data.Slice((int)infos[i].Offset, (int)infos[i].Size));
            return;
        }
        throw new ArgumentException($"the BPF object has no global '{variable}' in {section}", nameof(variable));
    }

    /// <summary>Writes an unmanaged value or array of values into a global (see <see cref="SetGlobalBytes"/>).</summary>
    public void SetGlobal<T>(string variable, ReadOnlySpan<T> values) where T : unmanaged =>
        SetGlobalBytes(variable, MemoryMarshal.AsBytes(values));

    /// <summary>Writes one unmanaged value into a global.</summary>
    public void SetGlobal<T>(string variable, T value) where T : unmanaged =>
        SetGlobalBytes(variable, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>
    /// The size and member byte offsets of a struct in the object's BTF (what the C compiler laid out), for checking
    /// the C# mirrors of the ABI structs; null when the object has no such struct.
    /// </summary>
    public (int Size, IReadOnlyList<(string Name, int Offset)> Members)? BtfStruct(string name)
    {
        nint btf = Libbpf.bpf_object__btf(Handle);
        if (btf == 0) return null;
        int id = Libbpf.btf__find_by_name_kind(btf, name, 4 /* BTF_KIND_STRUCT */);
        if (id < 0) return null;
        var t = Libbpf.btf__type_by_id(btf, (uint)id);
        bool kindFlag = (t->Info & 0x8000_0000) != 0;
        var members = (uint*)(t + 1);
        var list = new List<(string, int)>();
        for (int i = 0; i < t->Vlen; i++)
        {
            uint nameOff = members[i * 3], bits = members[i * 3 + 2];
            if (kindFlag) bits &= 0xffffff;
            list.Add((Marshal.PtrToStringUTF8(Libbpf.btf__name_by_offset(btf, nameOff)) ?? "", (int)(bits / 8)));
        }
        return ((int)t->SizeOrType, list);
    }

    private Span<byte> SectionData(string section)
    {
        for (nint m = Libbpf.bpf_object__next_map(Handle, 0); m != 0; m = Libbpf.bpf_object__next_map(Handle, m))
        {
            string name = Marshal.PtrToStringUTF8(Libbpf.bpf_map__name(m)) ?? "";
            if (!name.EndsWith(section, StringComparison.Ordinal)) continue;
            nuint size;
            void* p = Libbpf.bpf_map__initial_value(m, &size);
            if (p == null) throw new InvalidOperationException($"{name} has no initial value (already loaded?)");
            return new Span<byte>(p, (int)size);
        }
        throw new InvalidOperationException($"the BPF object has no {section} map");
    }

    /// <summary>
    /// Loads the selected programs and creates the maps. On failure the error quotes the verifier log and libbpf's
    /// warnings; EPERM becomes the documented permission error.
    /// </summary>
    public void Load()
    {
        var sw = Stopwatch.StartNew();
        _logBuffer ??= new NativeBuffer(1 << 20, zero: true);
        var loading = new List<nint>();
        for (nint p = Libbpf.bpf_object__next_program(Handle, 0); p != 0; p = Libbpf.bpf_object__next_program(Handle, p))
            if (Libbpf.bpf_program__autoload(p))
            {
                Libbpf.bpf_program__set_log_buf(p, _logBuffer.Pointer, (nuint)_logBuffer.Size);
                loading.Add(p);
            }
        using var log = LibbpfLog.Capture(_verbose);
        int r = Libbpf.bpf_object__load(Handle);
        LoadMilliseconds = sw.Elapsed.TotalMilliseconds;
        if (r == 0) return;
        int errno = -r;
        if (errno is ErrnoException.EPERM or ErrnoException.EACCES && !IsVerifierRejection())
            throw BpfPreconditions.BpfPermissionDenied(new ErrnoException("bpf_object__load", errno, log.Tail()));
        string verifier = Marshal.PtrToStringUTF8((nint)_logBuffer.Pointer) ?? "";
        var detail = new StringBuilder();
        if (verifier.Length > 0)
            detail.Append("verifier log (last lines):\n  ").AppendJoin("\n  ", verifier.TrimEnd().Split('\n').TakeLast(15)).Append('\n');
        string tail = log.Tail();
        if (tail.Length > 0) detail.Append("libbpf:\n  ").AppendJoin("\n  ", tail.Split('\n'));
        throw new ErrnoException("bpf_object__load", errno, detail.ToString().TrimEnd(), errorId: "BpfLoadFailed");

        bool IsVerifierRejection() => _logBuffer.Pointer[0] != 0;
    }

    /// <summary>Attaches every loaded program by its section (tp_btf, raw_tp, tracepoint ...).</summary>
    public void Attach()
    {
        var sw = Stopwatch.StartNew();
        using var log = LibbpfLog.Capture(_verbose);
        for (nint p = Libbpf.bpf_object__next_program(Handle, 0); p != 0; p = Libbpf.bpf_object__next_program(Handle, p))
        {
            if (!Libbpf.bpf_program__autoload(p)) continue;
            nint link = Libbpf.bpf_program__attach(p);
            if (link == 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                string name = Marshal.PtrToStringUTF8(Libbpf.bpf_program__name(p)) ?? "?";
                throw new ErrnoException($"bpf_program__attach({name})", errno == 0 ? ErrnoException.EINVAL : errno, log.Tail(), errorId: "BpfAttachFailed");
            }
            lock (_gate)
            {
                if (_disposed) { Libbpf.bpf_link__destroy(link); throw new ObjectDisposedException(nameof(BpfSession)); }
                _links.Add(new BpfLinkHandle(link));
            }
        }
        AttachMilliseconds = sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>
    /// Attaches a loaded perf_event program to a perf event fd (one per CPU for a profiler). The link takes the fd
    /// over: it is closed with the link, on Detach or Dispose, and here when attaching fails.
    /// </summary>
    public void AttachPerfEvent(string program, int perfEventFd)
    {
        nint p = Libbpf.bpf_object__find_program_by_name(Handle, program);
        if (p == 0) { KernelDebug.Core.Native.LibC.Close(perfEventFd); throw new ArgumentException($"the BPF object has no program '{program}'", nameof(program)); }
        using var log = LibbpfLog.Capture(_verbose);
        nint link = Libbpf.bpf_program__attach_perf_event(p, perfEventFd);
        if (link == 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            KernelDebug.Core.Native.LibC.Close(perfEventFd);
            throw new ErrnoException($"bpf_program__attach_perf_event({program})", errno == 0 ? ErrnoException.EINVAL : errno, log.Tail(), errorId: "BpfAttachFailed");
        }
        lock (_gate)
        {
            if (_disposed) { Libbpf.bpf_link__destroy(link); throw new ObjectDisposedException(nameof(BpfSession)); }
            _links.Add(new BpfLinkHandle(link));
        }
    }

    /// <summary>Detaches every program (maps stay readable until Dispose).</summary>
    public void Detach()
    {
        lock (_gate)
        {
            foreach (var l in _links) l.Dispose();
            _links.Clear();
        }
    }

    /// <summary>A map by name (after load).</summary>
    public BpfMap Map(string name)
    {
        lock (_gate)
        {
            if (_maps.TryGetValue(name, out var m)) return m;
            nint map = Libbpf.bpf_object__find_map_by_name(Handle, name);
            if (map == 0) throw new ArgumentException($"the BPF object has no map '{name}'", nameof(name));
            int fd = Libbpf.bpf_map__fd(map);
            if (fd < 0) throw new InvalidOperationException($"map '{name}' is not created yet (load first)");
            return _maps[name] = new BpfMap(name, fd, Libbpf.bpf_map__type(map), (int)Libbpf.bpf_map__key_size(map), (int)Libbpf.bpf_map__value_size(map));
        }
    }

    /// <summary>The kernel ids of the loaded programs (for Get-BpfProgram and leak checks).</summary>
    public IReadOnlyList<uint> ProgramIds => LoadedPrograms().Select(p => p.Info.Id).ToList();

    /// <summary>
    /// Turns on kernel BPF statistics (BPF_ENABLE_STATS, run time and run count per program) for as long as this
    /// session lives. False when the kernel refuses (needs CAP_SYS_ADMIN); true also when they were already on.
    /// </summary>
    public bool EnableStatistics()
    {
        lock (_gate)
        {
            if (_disposed) return false;
            if (_stats is not null) return true;
            int fd = Libbpf.bpf_enable_stats(0 /* BPF_STATS_RUN_TIME */);
            if (fd >= 0) { _stats = new BpfFdHandle(fd); return true; }
            _verbose?.Invoke($"BPF statistics unavailable: {Marshal.GetPInvokeErrorMessage(-fd)}");
            return false;
        }
    }

    /// <summary>Turns kernel BPF statistics off again (if this session turned them on).</summary>
    public void DisableStatistics()
    {
        lock (_gate)
        {
            _stats?.Dispose();
            _stats = null;
        }
    }

    /// <summary>Current kernel information (run time, run count, ids) for each loaded program.</summary>
    public IReadOnlyList<(string Name, BpfProgramInfo Info)> LoadedPrograms()
    {
        var list = new List<(string, BpfProgramInfo)>();
        for (nint p = Libbpf.bpf_object__next_program(Handle, 0); p != 0; p = Libbpf.bpf_object__next_program(Handle, p))
        {
            int fd = Libbpf.bpf_program__fd(p);
            if (fd < 0) continue;
            var info = BpfProgramInfo.FromFd(fd);
            if (info is not null) list.Add((Marshal.PtrToStringUTF8(Libbpf.bpf_program__name(p)) ?? "", info));
        }
        return list;
    }

    /// <summary>How long Dispose waits for the kernel to drop the programs and links it closed.</summary>
    public static readonly TimeSpan UnloadTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Program and link ids that were still in the kernel's id lists when Dispose stopped waiting (normally none).</summary>
    public IReadOnlyList<uint> NotUnloaded { get; private set; } = Array.Empty<uint>();

    /// <summary>
    /// Detaches all links, closes the object (programs and maps) and frees native buffers, then waits (at most
    /// <see cref="UnloadTimeout"/>) until the kernel has dropped the programs and links from its id lists: it frees
    /// them after the last reference goes, which can be a moment after the fds close, and "nothing of ours is left"
    /// must already hold when the caller returns.
    /// </summary>
    public void Dispose()
    {
        List<uint> programs, links;
        lock (_gate)
        {
            if (_disposed) return;
            programs = ProgramIdsUnlocked();
            links = _links.Select(LinkId).Where(id => id != 0).ToList();
            _disposed = true;
            foreach (var l in _links) l.Dispose();
            _links.Clear();
            _maps.Clear();
            _object.Dispose();
            _stats?.Dispose();
            _logBuffer?.Dispose();
            _elf.Dispose();
            _objectName.Dispose();
        }
        NotUnloaded = WaitUntilGone(programs, links, UnloadTimeout);
        if (NotUnloaded.Count > 0) _verbose?.Invoke($"BPF ids {string.Join(", ", NotUnloaded)} were still listed {UnloadTimeout.TotalSeconds:F0} s after closing.");
    }

    private List<uint> ProgramIdsUnlocked()
    {
        var ids = new List<uint>();
        nint obj = _object.DangerousGetHandle();
        for (nint p = Libbpf.bpf_object__next_program(obj, 0); p != 0; p = Libbpf.bpf_object__next_program(obj, p))
        {
            int fd = Libbpf.bpf_program__fd(p);
            if (fd >= 0 && BpfProgramInfo.FromFd(fd) is { } info) ids.Add(info.Id);
        }
        return ids;
    }

    private static uint LinkId(BpfLinkHandle link)
    {
        int fd = Libbpf.bpf_link__fd(link.DangerousGetHandle());
        if (fd < 0) return 0;
        Libbpf.BpfLinkInfoHead info = default;
        uint len = (uint)sizeof(Libbpf.BpfLinkInfoHead);
        return Libbpf.bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.Id : 0;
    }

    /// <summary>Waits until none of the ids is in the kernel's program or link id list; returns those left at the timeout.</summary>
    internal static IReadOnlyList<uint> WaitUntilGone(IReadOnlyCollection<uint> programs, IReadOnlyCollection<uint> links, TimeSpan timeout)
    {
        if (programs.Count == 0 && links.Count == 0) return Array.Empty<uint>();
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            // Walking the id lists takes no reference, so looking cannot keep anything alive.
            var left = Listed(&Libbpf.bpf_prog_get_next_id, programs).Concat(Listed(&Libbpf.bpf_link_get_next_id, links)).ToList();
            if (left.Count == 0 || Stopwatch.GetTimestamp() > deadline) return left;
            Thread.Sleep(2);
        }

        static List<uint> Listed(delegate*<uint, uint*, int> next, IReadOnlyCollection<uint> wanted)
        {
            var found = new List<uint>();
            if (wanted.Count == 0) return found;
            uint min = wanted.Min();
            uint id = min == 0 ? 0 : min - 1, n;
            while (next(id, &n) == 0)
            {
                if (wanted.Contains(n)) found.Add(n);
                if (found.Count == wanted.Count) break;
                id = n;
            }
            return found;
        }
    }
}
