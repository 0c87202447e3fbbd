namespace KernelDebug.Core.Tracing;

/// <summary>
/// Global time order over per-CPU runs: each CPU's ring buffer is already in time order, so CPUs decoded apart
/// (in parallel) are merged, not sorted. Ties go to the lower run (CPU) index, so the order is deterministic.
/// </summary>
internal static class TimeOrder
{
    /// <summary>Stable-sorts a run when it is not in time order already (a clock going back, a corrupt page).</summary>
    public static void EnsureSorted<T>(List<T> run, Func<T, ulong> key)
    {
        for (int i = 1; i < run.Count; i++)
        {
            if (key(run[i]) >= key(run[i - 1])) continue;
            var sorted = run.Select((x, n) => (x, n)).OrderBy(p => key(p.x)).ThenBy(p => p.n).Select(p => p.x).ToList();
            run.Clear();
            run.AddRange(sorted);
            return;
        }
    }

    /// <summary>Merges time-ordered runs into one time-ordered sequence of (run index, item).</summary>
    public static IEnumerable<(int Run, T Item)> Merge<T>(IReadOnlyList<List<T>> runs, Func<T, ulong> key)
    {
        var heads = new int[runs.Count];
        var queue = new PriorityQueue<int, (ulong, int)>();
        for (int r = 0; r < runs.Count; r++) if (runs[r].Count > 0) queue.Enqueue(r, (key(runs[r][0]), r));
        while (queue.TryDequeue(out int run, out _))
        {
            var list = runs[run];
            // Emit from this run while it stays ahead of the next best run (long stretches on a busy CPU).
            bool hasNext = queue.TryPeek(out _, out var next);
            int i = heads[run];
            do
            {
                yield return (run, list[i]);
                i++;
            } while (i < list.Count && (!hasNext || (key(list[i]), run).CompareTo(next) < 0));
            heads[run] = i;
            if (i < list.Count) queue.Enqueue(run, (key(list[i]), run));
        }
    }

    /// <summary>Merges time-ordered runs of events into <paramref name="output"/>.</summary>
    public static void MergeInto(IReadOnlyList<List<FtraceEvent>> runs, List<FtraceEvent> output)
    {
        int total = 0;
        foreach (var r in runs) total += r.Count;
        output.EnsureCapacity(output.Count + total);
        foreach (var (_, e) in Merge(runs, static e => e.TimestampNanoseconds)) output.Add(e);
    }
}
