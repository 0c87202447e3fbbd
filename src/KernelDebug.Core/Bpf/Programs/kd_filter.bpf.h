// SPDX-License-Identifier: GPL-2.0
// The task filter every KernelDebug tool shares: process ids (tgid), thread ids (pid) and one cgroup with its
// descendants (v1 or v2). The loader (src/KernelDebug.Core/Bpf/Engine/BpfFilter.cs) writes the kd_filter_* globals.
// Tools call kd_wanted_current() for the running task, kd_wanted_task(t) for another (sched_switch's next).
#ifndef KD_FILTER_BPF_H
#define KD_FILTER_BPF_H

#include <bpf/bpf_core_read.h>

#define KD_FILTER_MAX_IDS 16

const volatile __u32 kd_filter_ntgids = 0;
const volatile __u32 kd_filter_tgids[KD_FILTER_MAX_IDS] = {};
const volatile __u32 kd_filter_npids = 0;
const volatile __u32 kd_filter_pids[KD_FILTER_MAX_IDS] = {};
/* Cgroup: kernfs id (inode) of the directory, its level, and the v1 subsystem id (-1 = the v2 hierarchy). */
const volatile __u64 kd_filter_cgroup_id = 0;
const volatile __u32 kd_filter_cgroup_level = 0;
const volatile __s32 kd_filter_cgroup_ssid = -1;

static __always_inline int kd_in_list(const volatile __u32 *ids, __u32 n, __u32 id)
{
	for (int i = 0; i < KD_FILTER_MAX_IDS; i++) {
		if (i >= n)
			break;
		if (ids[i] == id)
			return 1;
	}
	return 0;
}

// The task's cgroup in the filter's hierarchy: the default (v2) one, or the v1 hierarchy of one subsystem.
static __always_inline struct cgroup *kd_task_cgroup(struct task_struct *t)
{
	if (kd_filter_cgroup_ssid < 0)
		return BPF_CORE_READ(t, cgroups, dfl_cgrp);
	__s32 ssid = kd_filter_cgroup_ssid;
	if (ssid >= CGROUP_SUBSYS_COUNT)
		return 0;
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	struct cgroup_subsys_state *css = 0;
	bpf_core_read(&css, sizeof(css), &cs->subsys[ssid]);
	return css ? BPF_CORE_READ(css, cgroup) : 0;
}

// True when the task is in the filter's cgroup or below it: its ancestor at the filter's level is that cgroup.
static __always_inline int kd_in_cgroup(struct task_struct *t)
{
	struct cgroup *cg = kd_task_cgroup(t);
	if (!cg)
		return 0;
	__u32 level = kd_filter_cgroup_level;
	if (BPF_CORE_READ(cg, level) < (int)level || level > 255)
		return 0;
	struct cgroup *anc = 0;
	bpf_core_read(&anc, sizeof(anc), &cg->ancestors[level]);
	return anc && BPF_CORE_READ(anc, kn, id) == kd_filter_cgroup_id;
}

static __always_inline int kd_wanted_ids(__u32 tgid, __u32 pid)
{
	if (kd_filter_ntgids && !kd_in_list(kd_filter_tgids, kd_filter_ntgids, tgid))
		return 0;
	if (kd_filter_npids && !kd_in_list(kd_filter_pids, kd_filter_npids, pid))
		return 0;
	return 1;
}

static __always_inline int kd_wanted_task(struct task_struct *t)
{
	if (!kd_wanted_ids(BPF_CORE_READ(t, tgid), BPF_CORE_READ(t, pid)))
		return 0;
	return !kd_filter_cgroup_id || kd_in_cgroup(t);
}

static __always_inline int kd_wanted_current(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!kd_wanted_ids(id >> 32, (__u32)id))
		return 0;
	return !kd_filter_cgroup_id || kd_in_cgroup((struct task_struct *)bpf_get_current_task());
}

// True when any filter is set (tools count "unmatched" events only without one).
static __always_inline int kd_filter_active(void)
{
	return kd_filter_ntgids || kd_filter_npids || kd_filter_cgroup_id;
}

// The task's cgroup id in the filter's hierarchy (for grouping by cgroup); 0 when unknown.
static __always_inline __u64 kd_task_cgroup_id(struct task_struct *t)
{
	struct cgroup *cg = kd_task_cgroup(t);
	return cg ? BPF_CORE_READ(cg, kn, id) : 0;
}

#endif
