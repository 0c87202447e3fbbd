using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Procfs;

/// <summary>Parses a task's kernel stack, <c>/proc/PID/task/TID/stack</c> ("[&lt;0&gt;] folio_wait_bit_common+0x13e/0x2f0").</summary>
public static class PidStackParser
{
    /// <summary>The frames, innermost first; lines that are not frames go to <paramref name="ctx"/>.</summary>
    public static IReadOnlyList<StackFrame> Parse(ReadOnlySpan<char> text, ParseContext ctx)
    {
        var frames = new List<StackFrame>();
        int n = 0;
        foreach (var raw in text.EnumerateLines())
        {
            n++;
            var line = raw.Trim();
            if (line.IsEmpty) continue;
            ulong? address = null;
            // "[<ffffffff81234567>] " — the address is hidden ("0") unless kptr_restrict allows it.
            if (line.StartsWith("[<"))
            {
                int end = line.IndexOf(">]");
                if (end < 0) { ctx.Warn(n, "unterminated address", line); continue; }
                if (Fields.TryHex(line[2..end], out ulong a) && a != 0) address = a;
                line = line[(end + 2)..];
            }
            var frame = StackFrame.TryParse(line);
            if (frame is null) { ctx.Warn(n, "not a stack frame", raw); continue; }
            frames.Add(address is null ? frame : frame with { Address = address });
        }
        return frames;
    }
}
