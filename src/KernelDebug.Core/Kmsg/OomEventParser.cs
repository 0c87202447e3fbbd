using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>
/// Finds out-of-memory events in a stream of kernel messages, following how mm/oom_kill.c prints them:
/// <c>dump_header()</c> starts with <c>X invoked oom-killer: gfp_mask=0x..(..), order=N, oom_score_adj=N</c>, then the
/// stack dump, the memory state (<c>Mem-Info:</c> in pages, <c>Free swap</c>/<c>Total swap</c>; for a memcg
/// <c>memory: usage ..kB, limit ..kB</c>), the task table, <c>oom-kill:constraint=..,task=..,pid=..,uid=..</c>, and
/// <c>__oom_kill_process()</c> ends it with <c>&lt;message&gt;: Killed process P (comm) total-vm:..kB, anon-rss:..kB, ...</c>.
/// A kill whose header was rate-limited away is still an event (with what its line says). Streaming and pure.
/// </summary>
public static class OomEventParser
{
    /// <summary>Lines kept per event in <see cref="OomEvent.Lines"/> (task tables of big machines run to thousands).</summary>
    public const int MaxLines = 400;

    private const string InvokedMarker = " invoked oom-killer: ";
    private const string KilledMarker = "Killed process ";

    /// <summary>The events in <paramref name="messages"/>, in log order.</summary>
    /// <param name="messages">Kernel messages (any source).</param>
    /// <param name="ctx">Where warnings about malformed OOM lines go.</param>
    /// <param name="pageSize">Page size of the machine that wrote the log, for the Mem-Info counts printed in pages.</param>
    public static IEnumerable<OomEvent> Parse(IEnumerable<KernelMessage> messages, ParseContext ctx, int pageSize = 4096)
    {
        var scanner = new OomEventScanner(ctx, pageSize);
        foreach (var m in messages)
            if (scanner.Push(m) is { } done)
            {
                foreach (var e in done) yield return e;
            }
        if (scanner.Finish() is { } last) yield return last;
    }

    /// <summary>The push form of <see cref="Parse"/>, for messages arriving one at a time (pipeline input).</summary>
    public sealed class OomEventScanner(ParseContext ctx, int pageSize = 4096)
    {
        private Builder? _open;

        /// <summary>Takes the next message; returns the events it completed (usually none).</summary>
        public IReadOnlyList<OomEvent>? Push(KernelMessage m)
        {
            // Cheap test first: most messages have nothing to do with OOM.
            bool invoked = m.Text.Contains(InvokedMarker, StringComparison.Ordinal);
            bool killed = m.Text.Contains(KilledMarker, StringComparison.Ordinal);
            List<OomEvent>? done = null;
            if (invoked)
            {
                if (_open is not null) (done ??= new()).Add(_open.Build());
                _open = new Builder(m, pageSize);
            }
            else if (_open is null)
            {
                if (!killed) return null;
                _open = new Builder(m, pageSize);
            }
            _open.Message(m, ctx);
            if (_open.Done)
            {
                (done ??= new()).Add(_open.Build());
                _open = null;
            }
            return done;
        }

        /// <summary>The event still open at the end of the input (its kill line never came), or null.</summary>
        public OomEvent? Finish()
        {
            var e = _open?.Build();
            _open = null;
            return e;
        }
    }

    private sealed class Builder
    {
        private readonly int _pageSize;
        private readonly List<string> _lines = new();
        private OomEvent _e;
        private bool _inMemInfo;

        public Builder(KernelMessage first, int pageSize)
        {
            _pageSize = pageSize;
            _e = new OomEvent { Time = first.Time, Uptime = first.Uptime, Source = first.Source, LineNumber = first.LineNumber };
        }

        public bool Done { get; private set; }

        public void Message(KernelMessage m, ParseContext ctx)
        {
            foreach (var line in m.Text.AsSpan().EnumerateLines()) Line(line, ctx, m.LineNumber ?? 0);
        }

        public OomEvent Build() => _e with { Lines = _lines.ToArray() };

        public void Line(ReadOnlySpan<char> line, ParseContext ctx, int lineNumber)
        {
            if (_lines.Count < MaxLines) _lines.Add(line.ToString());
            var t = line.Trim();
            int at;
            if ((at = t.IndexOf(InvokedMarker)) > 0) { Invoked(t, at, ctx, lineNumber); return; }
            if (_e.TriggerProcessId is null && t.StartsWith("CPU: ") && (at = t.IndexOf(" PID: ")) > 0)
            {
                var f = Fields.Split(t[(at + 6)..]);
                if (int.TryParse(f.Next(), out int pid)) _e = _e with { TriggerProcessId = pid };
                return;
            }
            if (t.StartsWith("Mem-Info:")) { _inMemInfo = true; t = t[9..]; }
            if (t.StartsWith("oom-kill:")) { Constraint(t[9..]); _inMemInfo = false; return; }
            if ((at = t.IndexOf(KilledMarker)) >= 0) { Killed(t, at, ctx, lineNumber); return; }
            if (t.StartsWith("memory: usage ")) { Memcg(t[8..], isSwap: false); return; }
            if (t.StartsWith("swap: usage ")) { Memcg(t[6..], isSwap: true); return; }
            if (t.StartsWith("Free swap") && Kb(AfterEquals(t)) is long fs) { _e = _e with { SwapFreeBytes = fs }; return; }
            if (t.StartsWith("Total swap") && Kb(AfterEquals(t)) is long ts) { _e = _e with { SwapTotalBytes = ts }; return; }
            if (t.StartsWith("Node ") || t.StartsWith("Tasks state") || t.StartsWith("[")) { _inMemInfo = false; return; }
            if (_inMemInfo) MemInfo(t);
        }

        // "stress invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0"
        private void Invoked(ReadOnlySpan<char> t, int at, ParseContext ctx, int lineNumber)
        {
            var rest = t[(at + InvokedMarker.Length)..];
            ulong? mask = null;
            string? flags = null;
            int? order = null, adj = null;
            var pairs = new PairEnumerator(rest);
            while (pairs.MoveNext())
            {
                if (pairs.Key.SequenceEqual("gfp_mask"))
                {
                    var v = pairs.Value;
                    int paren = v.IndexOf('(');
                    var hex = paren > 0 ? v[..paren] : v;
                    if (Fields.TryHex(hex, out ulong g)) mask = g;
                    if (paren > 0 && v.EndsWith(")")) flags = v[(paren + 1)..^1].ToString();
                }
                else if (pairs.Key.SequenceEqual("order") && int.TryParse(pairs.Value, out int o)) order = o;
                else if (pairs.Key.SequenceEqual("oom_score_adj") && int.TryParse(pairs.Value, out int a)) adj = a;
            }
            if (mask is null && order is null) ctx.Warn(lineNumber, "OOM header without gfp_mask/order", t);
            _e = _e with { TriggerCommand = t[..at].ToString(), GfpMask = mask, GfpFlags = flags, Order = order, TriggerOomScoreAdj = adj };
        }

        // "constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a,task=x,pid=1,uid=0"
        private void Constraint(ReadOnlySpan<char> t)
        {
            foreach (var range in t.Split(','))
            {
                var kv = t[range];
                int eq = kv.IndexOf('=');
                if (eq <= 0) continue;
                var k = kv[..eq];
                var v = kv[(eq + 1)..];
                switch (k)
                {
                    case "constraint":
                        _e = _e with
                        {
                            Constraint = v switch
                            {
                                "CONSTRAINT_NONE" => OomConstraint.None,
                                "CONSTRAINT_CPUSET" => OomConstraint.Cpuset,
                                "CONSTRAINT_MEMORY_POLICY" => OomConstraint.MemoryPolicy,
                                "CONSTRAINT_MEMCG" => OomConstraint.Memcg,
                                _ => OomConstraint.Unknown,
                            },
                        };
                        break;
                    case "nodemask": _e = _e with { Nodemask = v.ToString() }; break;
                    case "cpuset": _e = _e with { Cpuset = v.ToString() }; break;
                    case "oom_memcg": _e = _e with { OomMemcg = v.ToString() }; break;
                    case "task_memcg": _e = _e with { TaskMemcg = v.ToString() }; break;
                    case "task": _e = _e with { VictimCommand = v.ToString() }; break;
                    case "pid" when int.TryParse(v, out int pid): _e = _e with { VictimProcessId = pid }; break;
                    case "uid" when int.TryParse(v, out int uid): _e = _e with { VictimUserId = uid }; break;
                }
            }
        }

        // "Out of memory: Killed process 1234 (stress) total-vm:..kB, anon-rss:..kB, file-rss:..kB, shmem-rss:..kB, UID:0 pgtables:..kB oom_score_adj:0"
        private void Killed(ReadOnlySpan<char> t, int at, ParseContext ctx, int lineNumber)
        {
            var message = at >= 2 && t[..at].EndsWith(": ") ? t[..(at - 2)].ToString() : null;
            var rest = t[(at + KilledMarker.Length)..];
            int sp = rest.IndexOf(' ');
            if (sp <= 0 || !int.TryParse(rest[..sp], out int pid))
            {
                ctx.Warn(lineNumber, "OOM kill line without a process id", t);
                return;
            }
            rest = rest[(sp + 1)..];
            string? comm = null;
            if (rest.StartsWith("("))
            {
                // The command may hold blanks and parentheses; it ends at the last ") " before the counters.
                int tv = rest.IndexOf(" total-vm:");
                int close = tv > 0 ? rest[..tv].LastIndexOf(')') : rest.LastIndexOf(')');
                if (close > 0)
                {
                    comm = rest[1..close].ToString();
                    rest = rest[(close + 1)..];
                }
            }
            var e = _e with { Killed = true, VictimProcessId = pid, VictimCommand = comm ?? _e.VictimCommand, Message = message ?? _e.Message };
            foreach (var field in Fields.Split(rest))
            {
                var f = field.TrimEnd(',');
                int colon = f.IndexOf(':');
                if (colon <= 0) continue;
                var k = f[..colon];
                var v = f[(colon + 1)..];
                switch (k)
                {
                    case "total-vm": e = e with { TotalVmBytes = Kb(v) }; break;
                    case "anon-rss": e = e with { AnonRssBytes = Kb(v) }; break;
                    case "file-rss": e = e with { FileRssBytes = Kb(v) }; break;
                    case "shmem-rss": e = e with { ShmemRssBytes = Kb(v) }; break;
                    case "pgtables": e = e with { PageTablesBytes = Kb(v) }; break;
                    case "UID" when int.TryParse(v, out int uid): e = e with { VictimUserId = uid }; break;
                    case "oom_score_adj" when int.TryParse(v, out int adj): e = e with { VictimOomScoreAdj = adj }; break;
                }
            }
            if (e.Constraint == OomConstraint.Unknown && message is not null && message.StartsWith("Memory cgroup", StringComparison.Ordinal))
                e = e with { Constraint = OomConstraint.Memcg };
            _e = e;
            Done = true;
        }

        // "usage 524288kB, limit 524288kB, failcnt 1234"
        private void Memcg(ReadOnlySpan<char> t, bool isSwap)
        {
            long? usage = null, limit = null;
            var f = Fields.Split(t);
            while (f.MoveNext())
            {
                var k = f.Current;
                if (k.SequenceEqual("usage")) usage = Kb(f.Next().TrimEnd(','));
                else if (k.SequenceEqual("limit")) limit = Kb(f.Next().TrimEnd(','));
            }
            _e = isSwap ? _e with { MemcgSwapUsageBytes = usage } : _e with { MemcgUsageBytes = usage, MemcgLimitBytes = limit };
        }

        // "active_anon:1 inactive_anon:2 ... slab_reclaimable:5 slab_unreclaimable:6 ... free:7 free_pcp:8 free_cma:0" (pages)
        private void MemInfo(ReadOnlySpan<char> t)
        {
            foreach (var field in Fields.Split(t))
            {
                int colon = field.IndexOf(':');
                if (colon <= 0 || !Fields.TryLong(field[(colon + 1)..], out long pages)) continue;
                var k = field[..colon];
                if (k.SequenceEqual("free")) _e = _e with { FreeBytes = pages * _pageSize };
                else if (k.SequenceEqual("slab_unreclaimable")) _e = _e with { SlabUnreclaimableBytes = pages * _pageSize };
            }
        }

        private static ReadOnlySpan<char> AfterEquals(ReadOnlySpan<char> t)
        {
            int eq = t.IndexOf('=');
            return eq < 0 ? default : t[(eq + 1)..].Trim();
        }

        private static long? Kb(ReadOnlySpan<char> v)
        {
            v = v.Trim();
            if (v.EndsWith("kB")) v = v[..^2];
            return Fields.TryLong(v, out long kb) && kb >= 0 && Fields.TryScale(kb, 1024, out long bytes) ? bytes : null;
        }
    }

    // "key=value, key=value" pairs of the oom-killer header.
    private ref struct PairEnumerator(ReadOnlySpan<char> text)
    {
        private ReadOnlySpan<char> _rest = text;
        public ReadOnlySpan<char> Key { get; private set; }
        public ReadOnlySpan<char> Value { get; private set; }

        public bool MoveNext()
        {
            while (!_rest.IsEmpty)
            {
                // gfp_mask's value holds '|' and parentheses but no ", ".
                int end = _rest.IndexOf(", ");
                var part = end < 0 ? _rest : _rest[..end];
                _rest = end < 0 ? default : _rest[(end + 2)..];
                int eq = part.IndexOf('=');
                if (eq <= 0) continue;
                Key = part[..eq].Trim();
                Value = part[(eq + 1)..].Trim();
                return true;
            }
            return false;
        }
    }
}
