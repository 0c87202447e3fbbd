namespace KernelDebug.Core.Kmsg;

/// <summary>The text formats a kernel log file comes in; detected per file from its first lines.</summary>
public enum KernelLogFormat
{
    /// <summary>No line looked like a known format: each line is a message without timestamp.</summary>
    PlainText,
    /// <summary>Raw <c>/dev/kmsg</c> records <c>prio,seq,usec,flag;text</c> plus <c> KEY=value</c> continuation lines.</summary>
    Kmsg,
    /// <summary>
    /// <c>dmesg</c> text and everything printed with console prefixes: <c>[  12.345678] text</c>, <c>dmesg -r</c>'s
    /// <c>&lt;6&gt;[...]</c>, caller ids <c>[ T1234]</c> / <c>[ C1]</c>, kdump's <c>vmcore-dmesg.txt</c>, serial console logs.
    /// </summary>
    Dmesg,
    /// <summary><c>dmesg -x</c>: facility and level decoded in front, <c>kern  :info  : [  12.345678] text</c>.</summary>
    DmesgDecoded,
    /// <summary><c>dmesg -T</c>: <c>[Fri Nov 27 07:52:28 2026] text</c> (local time).</summary>
    DmesgCtime,
    /// <summary><c>dmesg --time-format iso</c>: <c>2026-11-27T07:52:28,123456+00:00 text</c>.</summary>
    DmesgIso,
    /// <summary>
    /// BSD syslog lines as in <c>/var/log/kern.log</c> and <c>journalctl -k</c> (short, short-precise):
    /// <c>Nov 27 07:52:28 host kernel: [  12.3] text</c>; the year is not recorded and is taken as the latest that is not in the future.
    /// </summary>
    Syslog,
    /// <summary>Syslog lines with an RFC 3339 time, as rsyslog's high-precision format and <c>journalctl -o short-iso</c> write them.</summary>
    SyslogIso,
    /// <summary>RFC 5424 syslog: <c>&lt;6&gt;1 2026-11-27T07:52:28.123+00:00 host kernel - - - text</c>.</summary>
    Rfc5424,
    /// <summary><c>journalctl -k -o short-monotonic</c>: <c>[   12.345678] host kernel: text</c>.</summary>
    JournalShortMonotonic,
    /// <summary><c>journalctl -k -o json</c>: one JSON object per line.</summary>
    JournalJson,
    /// <summary>A pstore dmesg file (<c>dmesg-&lt;backend&gt;-&lt;id&gt;</c>): an <c>Oops#1 Part1</c> header, then console lines.</summary>
    Pstore,
}
