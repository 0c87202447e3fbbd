using System.Runtime.InteropServices;

namespace KernelDebug.Core.Bpf.Native;

/// <summary>An open bpf_object; closing it unloads its programs and maps (unless pinned or attached elsewhere).</summary>
internal sealed class BpfObjectHandle : SafeHandle
{
    public BpfObjectHandle() : base(0, true) { }
    public BpfObjectHandle(nint obj) : base(0, true) => SetHandle(obj);
    public override bool IsInvalid => handle == 0;
    protected override bool ReleaseHandle()
    {
        Libbpf.bpf_object__close(handle);
        return true;
    }
}

/// <summary>An attached bpf_link; destroying it detaches the program.</summary>
internal sealed class BpfLinkHandle : SafeHandle
{
    public BpfLinkHandle(nint link) : base(0, true) => SetHandle(link);
    public override bool IsInvalid => handle == 0;
    protected override bool ReleaseHandle()
    {
        Libbpf.bpf_link__destroy(handle);
        return true;
    }
}

/// <summary>A file descriptor returned by bpf(2) (program fd by id, BPF_ENABLE_STATS).</summary>
internal sealed class BpfFdHandle : SafeHandle
{
    public BpfFdHandle(int fd) : base(-1, true) => SetHandle(fd);
    public override bool IsInvalid => handle.ToInt64() < 0;
    public int Fd => (int)handle;
    protected override bool ReleaseHandle() => KernelDebug.Core.Native.LibC.Close((int)handle) == 0;
}

/// <summary>A libbpf ring_buffer consumer.</summary>
internal sealed class RingBufferHandle : SafeHandle
{
    public RingBufferHandle(nint rb) : base(0, true) => SetHandle(rb);
    public override bool IsInvalid => handle == 0;
    protected override bool ReleaseHandle()
    {
        Libbpf.ring_buffer__free(handle);
        return true;
    }
}

/// <summary>Native memory that must outlive a libbpf object (the ELF image, verifier log buffers).</summary>
internal sealed unsafe class NativeBuffer : SafeHandle
{
    public NativeBuffer(int size, bool zero = false) : base(0, true)
    {
        SetHandle((nint)(zero ? NativeMemory.AllocZeroed((nuint)size) : NativeMemory.Alloc((nuint)size)));
        Size = size;
    }
    public int Size { get; }
    public byte* Pointer => (byte*)handle;
    public override bool IsInvalid => handle == 0;
    protected override bool ReleaseHandle()
    {
        NativeMemory.Free((void*)handle);
        return true;
    }
}

/// <summary>A struct btf parsed by libbpf (btf__parse_raw); freeing it releases the parsed types.</summary>
internal sealed class BtfHandle : SafeHandle
{
    public BtfHandle(nint btf) : base(0, true) => SetHandle(btf);
    public override bool IsInvalid => handle == 0;
    public nint Btf => handle;
    protected override bool ReleaseHandle()
    {
        Libbpf.btf__free(handle);
        return true;
    }
}
