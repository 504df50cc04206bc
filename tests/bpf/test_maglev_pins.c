// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maglev tables in a gw_maglev pinned by an older gw, whose inner template
 * is not BPF_F_MMAPABLE (gwd adopts such pins across an upgrade): the
 * agent finds out (deferred mode probes once; an immediate swap falls
 * back on EINVAL) and fills its tables slot by slot. Either way the
 * tables end up in gw_maglev with the right contents. Its own process:
 * what the agent learns (no mmapable tables) lasts for the process.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "harness.h"
#include "dp/service.h"

static struct gw_bpf *skel;
static struct gw_lb_maps maps;

/* A gw_maglev as an older gw made it: the inner template without
 * BPF_F_MMAPABLE. */
static int legacy_outer(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, io, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_create_opts, oo);
	int tmpl, outer;

	tmpl = bpf_map_create(BPF_MAP_TYPE_ARRAY, "legacy_ring", 4, 4, GW_MAGLEV_SIZE, &io);
	assert_true(tmpl >= 0);
	oo.inner_map_fd = tmpl;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "legacy_maglev", 4, 4, GW_SVC_MAX, &oo);
	assert_true(outer >= 0);
	close(tmpl);
	return outer;
}

static int setup(void **state)
{
	(void)state;
	if (gwt_netns())
		return -1;
	skel = gwt_load();
	if (!skel)
		return -1;
	gwt_lb_maps(skel, &maps);
	maps.maglev = legacy_outer();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(maps.maglev);
	gw_bpf__destroy(skel);
	return 0;
}

/* Checks that service id's table in gw_maglev has `ring` slots, each
 * naming one of the service's valid backends. */
static void table_ok(__u32 id, __u32 ring)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), inner_id, i, be;
	struct gw_backend b;
	int fd;

	assert_int_equal(bpf_map_lookup_elem(maps.maglev, &id, &inner_id), 0);
	fd = bpf_map_get_fd_by_id(inner_id);
	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	assert_int_equal(info.max_entries, ring);
	assert_int_equal(info.map_flags & BPF_F_MMAPABLE, 0);	/* as the template says */
	for (i = 0; i < ring; i++) {
		assert_int_equal(bpf_map_lookup_elem(fd, &i, &be), 0);
		assert_int_equal(bpf_map_lookup_elem(maps.backends, &be, &b), 0);
		assert_true(b.flags & GW_BE_F_VALID);	/* slot names a live backend */
		assert_int_equal(b.svc_id, id);		/* of this service */
	}
	close(fd);
}

static void spec_make(struct gw_service_spec *s, struct gw_backend_spec *b, __u16 port)
{
	memset(s, 0, sizeof(*s));
	memset(b, 0, 2 * sizeof(*b));
	assert_int_equal(gw_ip_parse("198.51.100.30", &s->vip.ip), 0);
	s->vip.port = port;
	s->proto = IPPROTO_TCP;
	s->fwd = GW_FWD_NAT;
	s->ring_size = 251;
	assert_int_equal(gw_ip_parse("198.18.0.2", &b[0].ep.ip), 0);
	assert_int_equal(gw_ip_parse("198.18.0.3", &b[1].ep.ip), 0);
	b[0].ep.port = b[1].ep.port = 8080;
	b[0].weight = 1;
	b[1].weight = 2;
	s->backends = b;
	s->n_backends = 2;
}

static void test_legacy_pins(void **state)
{
	struct gw_backend_spec b[2];
	struct gw_service_spec s;
	struct gw_lb_snap *sn;
	__u32 id1 = 0, id2 = 0;

	(void)state;
	/* gwd's apply: deferred, the probe finds the template out */
	spec_make(&s, b, 80);
	assert_int_equal(gw_lb_snap_read(&maps, &sn), 0);
	assert_int_equal(gw_lb_snap_defer(&maps, sn), 0);
	assert_int_equal(gw_service_set_snap(&maps, sn, &s, &id1), 0);
	assert_int_equal(gw_lb_snap_commit(&maps, sn), 0);
	gw_lb_snap_free(sn);
	table_ok(id1, 251);

	/* gwctl's path: immediate swaps, also slot by slot now */
	spec_make(&s, b, 81);
	assert_int_equal(gw_service_set(&maps, &s, &id2), 0);
	assert_int_not_equal(id1, id2);
	table_ok(id2, 251);
	b[1].weight = 5;
	assert_int_equal(gw_service_set(&maps, &s, NULL), 0);
	table_ok(id2, 251);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_legacy_pins),
	};

	return cmocka_run_group_tests_name("bpf_maglev_pins", tests, setup, teardown);
}
