// SPDX-License-Identifier: GPL-2.0
// ABI between pktdrop.bpf.c and src/KernelDebug.Core/Bpf/Tools/PacketDropMeter.cs; struct pd_key and struct pd_val are
// mirrored by PdKey and PdValue in Tools/ToolAbi.cs (BpfAbiTests checks them against the BTF).
#ifndef KD_PKTDROP_H
#define KD_PKTDROP_H

/* Reason codes the -Reason filter covers (a bitmap): enum skb_drop_reason has about 130 on 6.18; subsystem
 * reasons (mac80211, openvswitch) carry their subsystem in the upper 16 bits and are never filtered in. */
#define PD_MAX_REASONS 512

// Key of kd_pd_drops. gen: which half of the double buffer (kd_pd_ctl); reason: enum skb_drop_reason; location:
// where the packet was freed (the tracepoint's location, a kernel text address); protocol: skb->protocol in host
// order (ETH_P_*); ifindex: the device's index (skb->dev, else skb->skb_iif). A field is 0 unless grouped by it.
struct pd_key {
	__u32 gen;
	__u32 reason;
	__u64 location;
	__u32 protocol;
	__u32 ifindex;
};

// Value of kd_pd_drops (per CPU): packets and their bytes (skb->len where they were freed).
struct pd_val {
	__u64 count;
	__u64 bytes;
};

#define PD_STAT_FULL 0                     /* a drop not counted: kd_pd_drops was full */
#define PD_STAT_COUNT 1

#endif
