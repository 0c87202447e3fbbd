using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Live BPF tests filter on this test process and count its system calls, so they must not run at the same time as
/// each other: they share this collection (xunit runs a collection's tests one after another).
/// </summary>
[CollectionDefinition(Name)]
public sealed class LiveBpf
{
    public const string Name = "Live BPF (counts this process's syscalls)";
}
