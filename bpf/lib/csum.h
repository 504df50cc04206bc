/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksums (RFC 1624). A rewrite collects, for every
 * field it changes, ~old + new into a 64-bit accumulator (a "delta"), then
 * applies the delta to each checksum that covers those fields. Sums are
 * byte-order neutral as long as fields are read as they lie in the packet.
 */
#ifndef GW_BPF_CSUM_H
#define GW_BPF_CSUM_H

#include <linux/types.h>

/* Returns the delta with a changed 32-bit word added. */
static __always_inline __u64 gw_csum_add32(__u64 d, __u32 old, __u32 new)
{
	return d + (__u32)~old + new;
}

/* Returns the delta with a changed 16-bit word added. */
static __always_inline __u64 gw_csum_add16(__u64 d, __u16 old, __u16 new)
{
	return d + (__u16)~old + new;
}

/* Returns the delta with a changed 16-byte address added. */
static __always_inline __u64 gw_csum_add128(__u64 d, const __u32 *old, const __u32 *new)
{
	d = gw_csum_add32(d, old[0], new[0]);
	d = gw_csum_add32(d, old[1], new[1]);
	d = gw_csum_add32(d, old[2], new[2]);
	return gw_csum_add32(d, old[3], new[3]);
}

/* Returns the delta folded to a 32-bit one's-complement sum (a __wsum, as
 * bpf_l4_csum_replace() takes it). */
static __always_inline __u32 gw_csum_fold32(__u64 d)
{
	d = (d & 0xffffffffu) + (d >> 32);
	d = (d & 0xffffffffu) + (d >> 32);
	return (__u32)d;
}

/* Returns the 16-bit one's-complement sum of a delta (not inverted). */
static __always_inline __u16 gw_csum_fold16(__u64 d)
{
	__u32 s = gw_csum_fold32(d);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Returns the checksum `check` updated by the delta. */
static __always_inline __u16 gw_csum_apply(__u16 check, __u64 d)
{
	return (__u16)~gw_csum_fold16(d + (__u16)~check);
}

/* Returns the checksum of a buffer of n 32-bit words (e.g. a fresh IPv4
 * header whose check field is zero). */
static __always_inline __u16 gw_csum_words(const __u32 *w, int n)
{
	__u64 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		s += w[i];
	return (__u16)~gw_csum_fold16(s);
}

#endif /* GW_BPF_CSUM_H */
