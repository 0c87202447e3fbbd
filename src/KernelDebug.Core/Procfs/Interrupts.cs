using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Procfs;

/// <summary>One numbered line of <c>/proc/interrupts</c>: an IRQ, its count per CPU, its chip and its handlers.</summary>
public sealed record InterruptLine
{
    /// <summary>IRQ number.</summary>
    public int Irq { get; init; }
    /// <summary>Interrupts per CPU since boot, in CPU column order.</summary>
    public IReadOnlyList<ulong> PerCpu { get; init; } = Array.Empty<ulong>();
    /// <summary>Sum over CPUs.</summary>
    public ulong Total { get; init; }
    /// <summary>The chip and hardware IRQ columns (e.g. "PCI-MSIX-0000:00:01.0 0-edge").</summary>
    public string Chip { get; init; } = "";
    /// <summary>Handler (irqaction) names: several when the line is shared.</summary>
    public IReadOnlyList<string> Handlers { get; init; } = Array.Empty<string>();
}

/// <summary>Reads <c>/proc/interrupts</c> (numbered IRQs) and <c>/proc/softirqs</c> (vector names and counts).</summary>
public static class InterruptsReader
{
    /// <summary>The softirq vectors in kernel order (include/linux/interrupt.h), for kernels whose /proc/softirqs cannot be read.</summary>
    public static readonly IReadOnlyList<string> DefaultSoftirqNames =
        ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];

    /// <summary>
    /// Parses <c>/proc/interrupts</c>: a header of CPU names, then "N: count... chip hwirq-trigger name[, name]".
    /// Named rows (NMI, LOC, ...) are architecture counters without an IRQ number and are skipped; malformed
    /// numbered rows are warned about with their line.
    /// </summary>
    public static IReadOnlyList<InterruptLine> Parse(string text, ParseContext ctx)
    {
        var lines = text.Split('\n');
        if (lines.Length == 0) return [];
        int cpus = 0;
        foreach (var _ in Fields.Split(lines[0])) cpus++;
        var result = new List<InterruptLine>();
        for (int i = 1; i < lines.Length; i++)
        {
            var line = lines[i].AsSpan().Trim();
            int colon = line.IndexOf(':');
            if (colon <= 0 || !int.TryParse(line[..colon], out int irq)) continue;
            var rest = line[(colon + 1)..].TrimStart();
            var counts = new ulong[cpus];
            int c = 0;
            for (; c < cpus; c++)
            {
                int sp = rest.IndexOf(' ');
                var tok = sp < 0 ? rest : rest[..sp];
                if (!ulong.TryParse(tok, out counts[c])) break;
                rest = sp < 0 ? default : rest[sp..].TrimStart();
            }
            if (c < cpus)
            {
                ctx.Warn(i + 1, $"expected {cpus} per-CPU counts after 'IRQ:'", line);
                continue;
            }
            // The chip columns are separated from the names by a run of spaces; the names by ", ".
            string chip = "", names = rest.ToString();
            int gap = rest.LastIndexOf("  ");
            if (gap >= 0)
            {
                chip = string.Join(' ', rest[..gap].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
                names = rest[gap..].Trim().ToString();
            }
            result.Add(new InterruptLine
            {
                Irq = irq, PerCpu = counts, Total = counts.Aggregate(0UL, (s, v) => s + v), Chip = chip,
                Handlers = names.Split(", ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            });
        }
        return result;
    }

    /// <summary>Reads and parses <c>/proc/interrupts</c> of a root.</summary>
    public static IReadOnlyList<InterruptLine> Read(KernelRoot root, ParseContext ctx)
    {
        string text = root.ReadText("proc/interrupts", "procfs (always present when /proc is mounted)");
        ctx.Source = root.Resolve("proc/interrupts");
        return Parse(text, ctx);
    }

    /// <summary>
    /// The softirq vectors of <c>/proc/softirqs</c> in vector order (the row order is the vector number), with their
    /// runs per CPU since boot; the built-in names with no counts when the file cannot be read.
    /// </summary>
    public static IReadOnlyList<(string Name, IReadOnlyList<ulong> PerCpu)> ReadSoftirqs(KernelRoot root)
    {
        var result = new List<(string, IReadOnlyList<ulong>)>();
        foreach (var raw in (root.TryReadText("proc/softirqs") ?? "").Split('\n').Skip(1))
        {
            var line = raw.AsSpan().Trim();
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var counts = new List<ulong>();
            foreach (var tok in Fields.Split(line[(colon + 1)..]))
                counts.Add(ulong.TryParse(tok, out var v) ? v : 0);
            result.Add((line[..colon].ToString(), counts));
        }
        return result.Count > 0 ? result : DefaultSoftirqNames.Select(n => (n, (IReadOnlyList<ulong>)[])).ToArray();
    }

    /// <summary>
    /// The names a -Name of Measure-InterruptTime can match, sorted: every hard IRQ handler of /proc/interrupts and
    /// every softirq vector, each with a description ("virtio0-requests (IRQ 29, PCI-MSIX-0000:00:01.0 1-edge)").
    /// </summary>
    public static IReadOnlyList<(string Name, string Description)> KnownNames(KernelRoot root)
    {
        var names = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (root.TryReadText("proc/interrupts") is { } text)
            foreach (var line in Parse(text, new ParseContext(root.Resolve("proc/interrupts"))))
                foreach (var h in line.Handlers)
                    names.TryAdd(h, $"{h} (IRQ {line.Irq}, {line.Chip})");
        foreach (var (s, _) in ReadSoftirqs(root))
            names.TryAdd(s, $"{s} (softirq)");
        return names.Select(n => (n.Key, n.Value)).ToArray();
    }
}
