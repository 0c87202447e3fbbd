namespace KernelDebug.Core.Bpf.Tools;

/// <summary>A started BPF measurement that yields records per interval and a final set when finished.</summary>
public interface IBpfMeter<out T> : IDisposable
{
    /// <summary>The attach method in use.</summary>
    BpfAttachMethod AttachMethod { get; }
    /// <summary>The underlying session (program ids, timings).</summary>
    BpfSession Session { get; }
    /// <summary>Ends the current interval and returns its records.</summary>
    IReadOnlyList<T> CollectInterval();
    /// <summary>Detaches the programs and returns everything not yet collected.</summary>
    IReadOnlyList<T> Finish();
}
