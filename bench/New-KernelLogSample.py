#!/usr/bin/env python3
"""Writes a realistic kernel log of N lines for the KernelLog benchmark: driver chatter, audit and network lines,
and every so often a WARNING with a Call Trace block or an OOM report. Two files from one seeded stream:
console text '[ ts] text' and dmesg's raw form '<prio>[ ts] text' (what dmesg -F reads)."""
import random, sys

def main(lines, text_path, raw_path):
    rnd = random.Random(42)
    plain = [
        (6, "usb 1-1.{a}: new high-speed USB device number {b} using xhci_hcd"),
        (6, "EXT4-fs (nvme0n1p{a}): mounted filesystem {h:08x}-{b:04x} r/w with ordered data mode. Quota mode: none."),
        (5, "audit: type=1400 audit({t}:{b}): apparmor=\"ALLOWED\" operation=\"open\" profile=\"snap.lxd\" name=\"/proc/{b}/stat\" pid={b} comm=\"lxd\""),
        (6, "IPv6: ADDRCONF(NETDEV_CHANGE): veth{h:07x}: link becomes ready"),
        (6, "br-{h:012x}: port {a}(veth{b:07x}) entered forwarding state"),
        (4, "nvme nvme0: I/O {b} QID {a} timeout, completion polled"),
        (3, "blk_update_request: I/O error, dev sda, sector {h} op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0"),
        (6, "systemd[1]: Started session-{b}.scope - Session {b} of User ubuntu."),
        (4, "TCP: request_sock_TCP: Possible SYN flooding on port {b}. Sending cookies."),
        (6, "e1000e 0000:00:1f.6 eno1: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx"),
        (7, "cfg80211: Loading compiled-in X.509 certificates for regulatory database"),
        (6, "process '{b}' (comm) started with executable stack"),
    ]
    trace = ["dump_stack_lvl+0x48/0x70", "__warn+0x7c/0x130", "report_bug+0x16d/0x1a0", "handle_bug+0x3c/0x80",
             "exc_invalid_op+0x14/0x70", "asm_exc_invalid_op+0x16/0x20", "ext4_journal_check_start+0x6f/0xb0 [ext4]",
             "__ext4_journal_start_sb+0x3a/0x160 [ext4]", "ext4_dirty_inode+0x35/0x80 [ext4]", "__mark_inode_dirty+0x57/0x380",
             "generic_update_time+0x4e/0x60", "file_update_time+0x61/0x70", "ext4_buffered_write_iter+0x52/0x120 [ext4]",
             "vfs_write+0x236/0x3f0", "ksys_write+0x63/0xe0", "do_syscall_64+0x59/0x90", "entry_SYSCALL_64_after_hwframe+0x6e/0xd8"]
    us = 0
    n = 0
    with open(text_path, "w") as text, open(raw_path, "w") as raw:
        def emit(prio, msg):
            nonlocal us, n
            us += rnd.randint(1, 40000)
            ts = "[%5d.%06d] " % (us // 1000000, us % 1000000)
            text.write(ts + msg + "\n")
            raw.write("<%d>" % prio + ts + msg + "\n")
            n += 1
        while n < lines:
            r = rnd.random()
            if r < 0.004 and n + 40 < lines:
                pid = rnd.randint(100, 99999)
                emit(4, "------------[ cut here ]------------")
                emit(4, "WARNING: CPU: %d PID: %d at fs/ext4/ext4_jbd2.c:73 ext4_journal_check_start+0x6f/0xb0 [ext4]" % (rnd.randint(0, 7), pid))
                emit(4, "Modules linked in: xt_conntrack nf_nat ext4 mbcache jbd2 nvme nvme_core e1000e")
                emit(4, "CPU: %d PID: %d Comm: kworker/u16:%d Tainted: G        W          6.8.0-45-generic #45-Ubuntu" % (rnd.randint(0, 7), pid, rnd.randint(0, 9)))
                emit(4, "Hardware name: LENOVO 20XW0055US/20XW0055US, BIOS N32ET86W (1.62 ) 02/02/2024")
                emit(4, "RIP: 0010:ext4_journal_check_start+0x6f/0xb0 [ext4]")
                emit(4, "RSP: 0018:ffffb5c2c1a3fb98 EFLAGS: 00010202")
                emit(4, "Call Trace:")
                emit(4, " <TASK>")
                for f in trace:
                    emit(4, ("  ? " if rnd.random() < 0.2 else "  ") + f)
                emit(4, " </TASK>")
                emit(4, "---[ end trace 0000000000000000 ]---")
                continue
            prio, fmt = plain[rnd.randrange(len(plain))]
            emit(prio, fmt.format(a=rnd.randint(1, 9), b=rnd.randint(1, 65535), h=rnd.getrandbits(32), t=1700000000 + us // 1000000))

if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
