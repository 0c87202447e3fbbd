// SPDX-License-Identifier: GPL-2.0
// Measure-BlockIoLatency: per disk / per operation log-linear histograms of block request latency, from the
// block_rq_insert / block_rq_issue / block_rq_complete tracepoints (request-based: blk-mq). Two program sets for the
// same logic; the loader keeps tp_btf or raw_tp and turns autoload off for the other.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kd_filter.bpf.h"
#include "kd_hist.bpf.h"
#include "blkio.h"

const volatile __u32 targ_ndevs = 0;       /* 0 = every disk */
const volatile __u32 targ_devs[8] = {};
const volatile __u8 targ_by_disk = 0;
const volatile __u8 targ_by_op = 0;
const volatile __u8 targ_queued = 0;       /* also time insert -> issue */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);                /* struct request * */
	__type(value, struct bio_start);
} kd_bio_start SEC(".maps");

/* value: struct kd_hist, whose sum is latency; bytes live in kd_bio_bytes under the same key. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct bio_key);
	__type(value, struct kd_hist);
} kd_bio_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct bio_key);
	__type(value, __u64);
} kd_bio_bytes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} kd_bio_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BIO_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kd_bio_stats SEC(".maps");


static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&kd_bio_stats, &idx);
	if (v)
		(*v)++;
}

/* The whole disk's dev_t (partitions count toward their disk), in the kernel's major << 20 | minor encoding. */
static __always_inline __u32 disk_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	__u32 major = BPF_CORE_READ(disk, major), minor = BPF_CORE_READ(disk, first_minor);
	return (major << 20) | minor;
}

static __always_inline int wanted(__u32 dev)
{
	if (!targ_ndevs)
		return 1;
	for (int i = 0; i < 8; i++) {
		if (i >= targ_ndevs)
			break;
		if (targ_devs[i] == dev)
			return 1;
	}
	return 0;
}

static __always_inline void account(struct request *rq, __u32 dev, __u32 phase, __u64 delta, __u64 bytes, int failed)
{
	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&kd_bio_ctl, &zero);
	struct bio_key key = {};
	key.gen = gen ? *gen : 0;
	key.dev = targ_by_disk ? dev : 0;
	key.op = targ_by_op ? (BPF_CORE_READ(rq, cmd_flags) & 0xff) : BIO_ALL_OPS;
	key.phase = phase;

	struct kd_hist *h = bpf_map_lookup_elem(&kd_bio_hist, &key);
	if (!h) {
		bpf_map_update_elem(&kd_bio_hist, &key, &kd_zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&kd_bio_hist, &key);
		if (!h)
			return;
	}
	kd_hist_add(h, delta, failed);
	if (phase == BIO_PHASE_DEVICE) {
		__u64 *b = bpf_map_lookup_elem(&kd_bio_bytes, &key);
		if (b)
			*b += bytes;
		else
			bpf_map_update_elem(&kd_bio_bytes, &key, &bytes, BPF_NOEXIST);
	}
}

static __always_inline int on_insert(struct request *rq)
{
	if (!targ_queued || !wanted(disk_dev(rq)) || !kd_wanted_current())
		return 0;
	__u64 k = (__u64)rq;
	struct bio_start s = { .insert_ts = bpf_ktime_get_ns() };
	bpf_map_update_elem(&kd_bio_start, &k, &s, BPF_ANY);
	return 0;
}

static __always_inline int on_issue(struct request *rq)
{
	__u32 dev = disk_dev(rq);
	/* -ProcessId/-Cgroup: the task issuing the request (often a kworker or the flusher for buffered writes). */
	if (!wanted(dev) || !kd_wanted_current())
		return 0;
	__u64 k = (__u64)rq, now = bpf_ktime_get_ns();
	struct bio_start *s = bpf_map_lookup_elem(&kd_bio_start, &k);
	if (s) {
		if (s->insert_ts && targ_queued)
			account(rq, dev, BIO_PHASE_QUEUE, now - s->insert_ts, 0, 0);
		s->insert_ts = 0;
		s->issue_ts = now;
		return 0;
	}
	struct bio_start n = { .issue_ts = now };
	if (bpf_map_update_elem(&kd_bio_start, &k, &n, BPF_ANY))
		stat_inc(BIO_STAT_START_FULL);
	return 0;
}

static __always_inline int on_complete(struct request *rq, int error, unsigned int nr_bytes)
{
	__u64 k = (__u64)rq;
	struct bio_start *s = bpf_map_lookup_elem(&kd_bio_start, &k);
	if (!s || !s->issue_ts) {
		if (wanted(disk_dev(rq)))
			stat_inc(BIO_STAT_MISSED_ISSUE);
		if (s)
			bpf_map_delete_elem(&kd_bio_start, &k);
		return 0;
	}
	__u64 delta = bpf_ktime_get_ns() - s->issue_ts;
	bpf_map_delete_elem(&kd_bio_start, &k);
	account(rq, disk_dev(rq), BIO_PHASE_DEVICE, delta, nr_bytes, error != 0);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(kd_bio_btf_insert, struct request *rq) { return on_insert(rq); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(kd_bio_btf_issue, struct request *rq) { return on_issue(rq); }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(kd_bio_btf_complete, struct request *rq, int error, unsigned int nr_bytes) { return on_complete(rq, error, nr_bytes); }

SEC("raw_tp/block_rq_insert")
int BPF_PROG(kd_bio_raw_insert, struct request *rq) { return on_insert(rq); }

SEC("raw_tp/block_rq_issue")
int BPF_PROG(kd_bio_raw_issue, struct request *rq) { return on_issue(rq); }

SEC("raw_tp/block_rq_complete")
int BPF_PROG(kd_bio_raw_complete, struct request *rq, int error, unsigned int nr_bytes) { return on_complete(rq, error, nr_bytes); }

char LICENSE[] SEC("license") = "GPL";
