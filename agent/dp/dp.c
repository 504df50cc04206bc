// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loading, pinning and attaching gw's datapath (see dp.h for the layout).
 *
 * Why twin objects: libxdp attaches a program through its multiprog
 * dispatcher by loading it itself, as a freplace (BPF_PROG_TYPE_EXT)
 * extension of the dispatcher's slot, so it needs an object it may load. The
 * skeleton is therefore loaded for its maps only (created, or adopted from
 * their pins); each program comes from a twin object opened from the
 * skeleton's embedded ELF, in which every map reuses the skeleton's fd and
 * only that program is loaded: libxdp loads the gw_xdp twin, we load the
 * gw_tc twin. The skeleton's maps and fds stay what they were, a program
 * that fails to verify does not keep the other hook from working, and the
 * BPF unit tests, which load the skeleton plain and never use libxdp, see
 * no difference.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "gw.skel.h"
#include "dp/dp.h"
#include "dp/ifaddr.h"
#include "core/log.h"

/* BPF_TCX_INGRESS from linux/bpf.h of 6.6+; Debian 12's uapi header (6.1)
 * does not have it, and libbpf 1.1.2 has no tcx API: the link is made with
 * bpf_link_create and this attach type. */
#define GW_BPF_TCX_INGRESS 46

/* The clsact filter gw installs when the kernel has no tcx: fixed handle
 * and priority, so a later process finds and removes exactly it. */
#define GW_TC_HANDLE 0x6777
#define GW_TC_PRIO 10

/* The kernel's internal ENOTSUPP, which can leak to user space. */
#define GW_ENOTSUPP 524

#define GW_XDP_PROG "gw_xdp"
#define GW_TC_PROG "gw_tc"
#define GW_TCN_PROG "gw_tc_neigh"

/* A program gw puts at TC ingress: gw_tc (the pipeline, instead of XDP)
 * or gw_tc_neigh (beside gw_xdp: sends what XDP marked for the kernel's
 * neighbour layer). Each has its tcx link pin and its clsact filter. */
struct tc_slot {
	const char *prog;
	const char *link;	/* its tcx link pin: links/<link>-<ifindex> */
	__u32 handle, prio;
};

static const struct tc_slot tc_main = { GW_TC_PROG, "tcx", GW_TC_HANDLE, GW_TC_PRIO };
static const struct tc_slot tc_helper = { GW_TCN_PROG, "tcxn", GW_TC_HANDLE + 1,
					  GW_TC_PRIO + 1 };

struct gw_dp {
	char pin_root[PATH_MAX];
	struct gw_bpf *skel;
	struct bpf_object *xdp_obj;	/* the second object, for libxdp */
	struct xdp_program *xprog;	/* gw_xdp as libxdp knows it */
	struct bpf_object *tc_obj;	/* the twin object of gw_tc */
	int tc_fd;			/* gw_tc (ours or the pinned one) */
	struct bpf_object *tcn_obj;	/* the twin object of gw_tc_neigh */
	int tcn_fd;			/* gw_tc_neigh */
	unsigned int xdp_prio;
	int fresh;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

/* Writes "<root>/<rel>" into buf. Returns 0 or -ENAMETOOLONG. */
static int pin_path(char *buf, size_t len, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int pin_path(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return -ENAMETOOLONG;
	n = snprintf(buf, len, "%s/%s", root, rel);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p with mode 0700. Returns 0 or a negative errno. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path), i;

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

static int is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC;
}

/* The pin root must be on bpffs. When it is below /sys/fs/bpf and nothing
 * is mounted there (these machines do not mount it at boot), mounts it.
 * Creates the root and its progs/ and links/ directories. */
static int ensure_pin_root(const char *root)
{
	size_t mlen = strlen(GW_BPFFS_MOUNT);
	char sub[PATH_MAX];
	int err;

	if (root[0] != '/') {
		pr_warn("dp: pin root %s is not an absolute path\n", root);
		return -EINVAL;
	}
	if (!strncmp(root, GW_BPFFS_MOUNT, mlen) && (root[mlen] == '/' || !root[mlen]) &&
	    !is_bpffs(GW_BPFFS_MOUNT)) {
		if (mount("bpf", GW_BPFFS_MOUNT, "bpf", 0, "mode=0700")) {
			err = -errno;
			pr_warn("dp: cannot mount bpffs at %s: %s\n", GW_BPFFS_MOUNT,
				strerror(-err));
			return err;
		}
		pr_info("dp: mounted bpffs at %s\n", GW_BPFFS_MOUNT);
	}
	err = mkdir_p(root);
	if (err) {
		pr_warn("dp: cannot create pin root %s: %s\n", root, strerror(-err));
		return err;
	}
	if (!is_bpffs(root)) {
		pr_warn("dp: pin root %s is not on a bpf filesystem (mount -t bpf bpf DIR)\n",
			root);
		return -EINVAL;
	}
	for (const char *const *d = (const char *const[]){ "progs", "links", NULL }; *d; d++) {
		err = pin_path(sub, sizeof(sub), root, "%s", *d);
		if (!err && mkdir(sub, 0700) && errno != EEXIST)
			err = -errno;
		if (err) {
			pr_warn("dp: cannot create %s: %s\n", sub, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* 1 when the kernel charges BPF memory to the memory cgroup (5.11 and
 * later) rather than to RLIMIT_MEMLOCK. */
static int bpf_memcg_accounting(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major > 5 || (major == 5 && minor >= 11);
}

/* Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones to
 * the memory cgroup, where the limit does not matter and is left alone.
 * On an old kernel gwd raises it before it drops CAP_SYS_RESOURCE, and the
 * unlimited limit then covers every later load (reloads, new interfaces);
 * a limit that cannot be raised there is a warning, as the first large
 * map will fail with EPERM. */
static void raise_memlock(void)
{
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
	struct rlimit cur;

	if (bpf_memcg_accounting() ||
	    (!getrlimit(RLIMIT_MEMLOCK, &cur) && cur.rlim_cur == RLIM_INFINITY))
		return;
	if (setrlimit(RLIMIT_MEMLOCK, &r))
		pr_warn("dp: cannot raise RLIMIT_MEMLOCK (%s); kernels before 5.11 may refuse "
			"gw's maps: run with LimitMEMLOCK=infinity (ulimit -l unlimited)\n",
			strerror(errno));
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	/* libxdp reports the expected failure of a native attach in auto
	 * mode at info level: keep that out of the operator's way. */
	gw_log(level == LIBXDP_WARN ? GW_LOG_WARN : GW_LOG_DEBUG, "libxdp: %s\n", buf);
	return 0;
}

/* libbpf's messages while libxdp tries its dispatcher are noise when the
 * attach succeeds (kernels without freplace fall back to one program) and
 * the explanation when it fails: keep them, print them on failure only. */
static struct {
	char buf[65536];
	size_t len;
	int on;
} capture;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (capture.len >= sizeof(capture.buf) - 1)
		return 0;
	n = vsnprintf(capture.buf + capture.len, sizeof(capture.buf) - capture.len, fmt, ap);
	if (n > 0)
		capture.len += (size_t)n < sizeof(capture.buf) - capture.len ?
				       (size_t)n : sizeof(capture.buf) - capture.len - 1;
	return 0;
}

static void capture_begin(void)
{
	if (gw_log_get_level() >= GW_LOG_DEBUG)
		return;	/* everything is printed anyway */
	capture.len = 0;
	capture.buf[0] = '\0';
	capture.on = 1;
	libbpf_set_print(capture_print);
}

static void capture_end(int failed)
{
	if (!capture.on)
		return;
	capture.on = 0;
	gw_log_hook_libbpf();
	if (failed && capture.len)
		pr_warn("%s", capture.buf);
}

static void hook_libxdp(void)
{
	static int done;

	if (!done) {
		libxdp_set_print(libxdp_print);
		done = 1;
	}
}

/* The name of a program, by fd. Returns 0 or a negative errno. */
static int prog_name_id(int fd, char name[BPF_OBJ_NAME_LEN], __u32 *id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	memcpy(name, info.name, BPF_OBJ_NAME_LEN);
	name[BPF_OBJ_NAME_LEN - 1] = '\0';
	if (id)
		*id = info.id;
	return 0;
}

/* 1 if program prog_fd uses map map_fd, 0 if not, or a negative errno. A
 * pinned program that does not use the pinned maps is stale. */
static int prog_uses_map(int prog_fd, int map_fd)
{
	struct bpf_prog_info pinfo;
	struct bpf_map_info minfo;
	__u32 ids[64], plen = sizeof(pinfo), mlen = sizeof(minfo), i, n;

	memset(&minfo, 0, sizeof(minfo));
	if (bpf_obj_get_info_by_fd(map_fd, &minfo, &mlen))
		return -errno;
	memset(&pinfo, 0, sizeof(pinfo));
	pinfo.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	pinfo.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pinfo, &plen))
		return -errno;
	n = pinfo.nr_map_ids < 64 ? pinfo.nr_map_ids : 64;
	for (i = 0; i < n; i++)
		if (ids[i] == minfo.id)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Map sizes                                                            */

static const struct {
	const char *name;	/* without "gw_" */
	size_t off;
} size_names[] = {
	{ "filter_v4", offsetof(struct gw_dp_sizes, filter_v4) },
	{ "filter_v6", offsetof(struct gw_dp_sizes, filter_v6) },
	{ "ban_v4", offsetof(struct gw_dp_sizes, ban_v4) },
	{ "ban_v6", offsetof(struct gw_dp_sizes, ban_v6) },
	{ "rl_v4", offsetof(struct gw_dp_sizes, rl_v4) },
	{ "rl_v6", offsetof(struct gw_dp_sizes, rl_v6) },
	{ "ct", offsetof(struct gw_dp_sizes, ct) },
	{ "nat", offsetof(struct gw_dp_sizes, nat) },
};

#define N_SIZES (sizeof(size_names) / sizeof(size_names[0]))

int gw_dp_sizes_parse(struct gw_dp_sizes *s, const char *setting)
{
	const char *eq = strchr(setting, '=');
	unsigned long long v;
	char *end;
	size_t i;

	if (!eq || eq == setting)
		return -EINVAL;
	errno = 0;
	v = strtoull(eq + 1, &end, 10);
	if (errno || end == eq + 1 || *end || v == 0 || v > (1ull << 28) ||
	    eq[1] == '-')
		return -EINVAL;
	for (i = 0; i < N_SIZES; i++) {
		if (strlen(size_names[i].name) == (size_t)(eq - setting) &&
		    !strncmp(size_names[i].name, setting, (size_t)(eq - setting))) {
			*(__u32 *)((char *)s + size_names[i].off) = (__u32)v;
			return 0;
		}
	}
	return -ENOENT;
}

/* The size asked for map `name` (with "gw_"), 0 when none. */
static __u32 size_for(const struct gw_dp_sizes *s, const char *name)
{
	size_t i;

	if (strncmp(name, "gw_", 3))
		return 0;
	for (i = 0; i < N_SIZES; i++)
		if (!strcmp(size_names[i].name, name + 3))
			return *(const __u32 *)((const char *)s + size_names[i].off);
	return 0;
}

/* Sets each map's size before load: a pinned map keeps its own (libbpf
 * refuses to reuse a pin of another size, and resizing would drop state);
 * others get the size asked for. *config_new says whether gw_config is to
 * be created. */
static int prepare_maps(struct gw_dp *dp, const struct gw_dp_sizes *sizes, int *config_new)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	*config_new = 1;
	bpf_object__for_each_map(map, dp->skel->obj) {
		const char *name = bpf_map__name(map);
		__u32 want = size_for(sizes, name);
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (!bpf_map__pin_path(map))
			continue;	/* not pinned by name (internal maps) */
		err = pin_path(path, sizeof(path), dp->pin_root, "%s", name);
		if (err)
			return err;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT) {
				err = -errno;
				pr_warn("dp: cannot open pin %s: %s\n", path, strerror(-err));
				return err;
			}
			if (want && (err = bpf_map__set_max_entries(map, want)))
				return err;
			continue;
		}
		memset(&info, 0, sizeof(info));
		err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
		close(fd);
		if (err)
			return err;
		if (!strcmp(name, "gw_config"))
			*config_new = 0;
		if (want && want != info.max_entries)
			pr_warn("dp: %s keeps its pinned size %u (asked %u); remove %s to resize\n",
				name, info.max_entries, want, path);
		if (info.max_entries != bpf_map__max_entries(map) &&
		    (err = bpf_map__set_max_entries(map, info.max_entries)))
			return err;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Loading                                                              */

/* Opens the pinned program `name` if it exists and uses the pinned maps
 * (checked against the gw_config pin); a stale one is unpinned. Returns its
 * fd, -ENOENT, or a negative errno. */
static int open_pinned_prog(struct gw_dp *dp, const char *name)
{
	char path[PATH_MAX], cpath[PATH_MAX];
	int fd, cfd, used, err;

	err = pin_path(path, sizeof(path), dp->pin_root, "progs/%s", name);
	if (!err)
		err = pin_path(cpath, sizeof(cpath), dp->pin_root, "gw_config");
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	cfd = bpf_obj_get(cpath);
	used = cfd >= 0 ? prog_uses_map(fd, cfd) : 0;
	if (cfd >= 0)
		close(cfd);
	if (used == 1)
		return fd;
	close(fd);
	pr_info("dp: pinned %s does not use the pinned maps; replacing it\n", name);
	unlink(path);
	return -ENOENT;
}

static int pin_prog_fd(struct gw_dp *dp, const char *name, int fd)
{
	char path[PATH_MAX];
	int err;

	err = pin_path(path, sizeof(path), dp->pin_root, "progs/%s", name);
	if (err)
		return err;
	unlink(path);
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		pr_warn("dp: cannot pin %s at %s: %s\n", name, path, strerror(-err));
		return err;
	}
	return 0;
}

void gw_dp_config_default(struct gw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rl_v6_prefix = 64;
	cfg->nat_port_min = GW_NAT_PORT_MIN_DEFAULT;
	cfg->nat_port_max = GW_NAT_PORT_MAX_DEFAULT;
}

int gw_dp_open(const struct gw_dp_opts *opts, struct gw_dp **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct gw_dp_opts none = { 0 };
	struct gw_dp *dp;
	int err, config_new;
	const char *root;

	*out = NULL;
	if (!opts)
		opts = &none;
	root = opts->pin_root ? opts->pin_root : GW_PIN_ROOT_DEFAULT;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->tc_fd = -1;
	dp->tcn_fd = -1;
	dp->xdp_prio = opts->xdp_prio;
	dp->fresh = opts->fresh_progs;
	if (strlen(root) >= sizeof(dp->pin_root) - 64) {
		err = -ENAMETOOLONG;
		goto err;
	}
	strcpy(dp->pin_root, root);
	/* no trailing slash: pin paths are built with "%s/%s" */
	while (strlen(dp->pin_root) > 1 && dp->pin_root[strlen(dp->pin_root) - 1] == '/')
		dp->pin_root[strlen(dp->pin_root) - 1] = '\0';
	hook_libxdp();

	err = ensure_pin_root(dp->pin_root);
	if (err)
		goto err;
	raise_memlock();

	oo.pin_root_path = dp->pin_root;
	dp->skel = gw_bpf__open_opts(&oo);
	if (!dp->skel) {
		err = -errno ? -errno : -EINVAL;
		pr_warn("dp: cannot open the gw BPF object: %s\n", strerror(-err));
		goto err;
	}
	err = prepare_maps(dp, &opts->sizes, &config_new);
	if (err)
		goto err;

	/* Maps only: each program is loaded when it is first attached, from
	 * a twin object (see the top), or adopted from its pin. */
	bpf_program__set_autoload(dp->skel->progs.gw_xdp, false);
	bpf_program__set_autoload(dp->skel->progs.gw_tc, false);
	bpf_program__set_autoload(dp->skel->progs.gw_tc_neigh, false);

	err = gw_bpf__load(dp->skel);
	if (err) {
		pr_warn("dp: cannot create or adopt the maps under %s: %s\n", dp->pin_root,
			strerror(-err));
		goto err;
	}

	/* Pinned services adopted by a datapath whose gw_svc_bloom is new (or
	 * stale) must not be skipped by its pre-check. */
	{
		struct gw_lb_maps lm = {
			.services = bpf_map__fd(dp->skel->maps.gw_services),
			.svc_bloom = bpf_map__fd(dp->skel->maps.gw_svc_bloom),
			.backend_stats = -1,
		};

		err = gw_svc_bloom_sync(&lm);
		if (err)
			goto err;
	}
	if (config_new) {
		struct gw_config cfg;
		__u32 key = 0;

		gw_dp_config_default(&cfg);
		if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.gw_config), &key, &cfg,
					BPF_ANY)) {
			err = -errno;
			pr_warn("dp: cannot write the default gw_config: %s\n", strerror(-err));
			goto err;
		}
	}
	*out = dp;
	return 0;
err:
	gw_dp_close(dp);
	return err;
}

void gw_dp_close(struct gw_dp *dp)
{
	if (!dp)
		return;
	if (dp->xprog)
		xdp_program__close(dp->xprog);
	if (dp->xdp_obj)
		bpf_object__close(dp->xdp_obj);
	if (dp->tc_obj)
		bpf_object__close(dp->tc_obj);
	if (dp->tc_fd >= 0)
		close(dp->tc_fd);
	if (dp->tcn_obj)
		bpf_object__close(dp->tcn_obj);
	if (dp->tcn_fd >= 0)
		close(dp->tcn_fd);
	gw_bpf__destroy(dp->skel);
	free(dp);
}

int gw_dp_map_fd(const struct gw_dp *dp, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(dp->skel->obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

/* ------------------------------------------------------------------ */
/* XDP                                                                  */

/* Opens a twin of the skeleton's object (its embedded ELF) in which every
 * map reuses the skeleton's fd and only program `prog_name` is to be
 * loaded. Returns the object or NULL (errno set). */
static struct bpf_object *twin_open(struct gw_dp *dp, const char *prog_name)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "gw_bpf");
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	const void *elf;
	size_t sz;
	int err;

	elf = gw_bpf__elf_bytes(&sz);
	obj = bpf_object__open_mem(elf, sz, &oo);
	if (!obj)
		return NULL;
	bpf_object__for_each_map(map, obj) {
		struct bpf_map *own = bpf_object__find_map_by_name(dp->skel->obj,
								   bpf_map__name(map));

		if (!own || bpf_map__fd(own) < 0) {
			pr_warn("dp: map %s has no loaded twin\n", bpf_map__name(map));
			err = -ENOENT;
			goto err;
		}
		/* No pinning in the twin: its maps are the skeleton's. */
		bpf_map__set_pin_path(map, NULL);
		err = bpf_map__reuse_fd(map, bpf_map__fd(own));
		if (err)
			goto err;
	}
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), prog_name));
	return obj;
err:
	bpf_object__close(obj);
	errno = -err;
	return NULL;
}

/* Wraps gw_xdp of a twin object for libxdp, which loads it. Returns 0 or a
 * negative errno. */
static int xdp_prog_create(struct gw_dp *dp)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xo);
	int err;

	dp->xdp_obj = twin_open(dp, GW_XDP_PROG);
	if (!dp->xdp_obj) {
		err = -errno;
		goto err;
	}
	xo.obj = dp->xdp_obj;
	xo.prog_name = GW_XDP_PROG;
	dp->xprog = xdp_program__create(&xo);
	err = (int)libxdp_get_error(dp->xprog);
	if (err) {
		dp->xprog = NULL;
		goto err;
	}
	if (dp->xdp_prio && (err = xdp_program__set_run_prio(dp->xprog, dp->xdp_prio)))
		goto err;
	return 0;
err:
	pr_warn("dp: cannot prepare gw_xdp for libxdp: %s\n", strerror(-err));
	if (dp->xprog)
		xdp_program__close(dp->xprog);
	dp->xprog = NULL;
	if (dp->xdp_obj)
		bpf_object__close(dp->xdp_obj);
	dp->xdp_obj = NULL;
	return err;
}

/* The TC program `name` into *fd: the pinned one when usable, else
 * loaded from a twin (*obj) and pinned. Returns 0 or a negative errno. */
static int tc_prog_load(struct gw_dp *dp, const char *name, int *fd, struct bpf_object **obj)
{
	int err;

	if (*fd >= 0)
		return 0;
	/* gw_tc_neigh uses no map: nothing tells a stale pin apart */
	if (!dp->fresh && strcmp(name, GW_TCN_PROG)) {
		*fd = open_pinned_prog(dp, name);
		if (*fd >= 0)
			return 0;
	}
	if (!*obj) {
		*obj = twin_open(dp, name);
		if (!*obj)
			return -errno;
		err = bpf_object__load(*obj);
		if (err) {
			pr_warn("dp: cannot load %s: %s\n", name, strerror(-err));
			return err;
		}
	}
	*fd = dup(bpf_program__fd(bpf_object__find_program_by_name(*obj, name)));
	if (*fd < 0)
		return -errno;
	return pin_prog_fd(dp, name, *fd);
}

/* The fd of slot's program, loaded when needed. Returns it or a negative
 * errno. */
static int tc_prog_get(struct gw_dp *dp, const struct tc_slot *slot)
{
	int err;

	if (slot == &tc_helper)
		err = tc_prog_load(dp, slot->prog, &dp->tcn_fd, &dp->tcn_obj);
	else
		err = tc_prog_load(dp, slot->prog, &dp->tc_fd, &dp->tc_obj);
	if (err)
		return err;
	return slot == &tc_helper ? dp->tcn_fd : dp->tc_fd;
}

/* The xdp_program to attach: ours if loaded, the pinned one (shared by
 * every interface gw is on), or a new one. */
static int xdp_prog_get(struct gw_dp *dp)
{
	int fd;

	if (dp->xprog)
		return 0;
	if (!dp->fresh) {
		fd = open_pinned_prog(dp, GW_XDP_PROG);
		if (fd >= 0) {
			dp->xprog = xdp_program__from_fd(fd);
			close(fd);
			if (!libxdp_get_error(dp->xprog))
				return 0;
			dp->xprog = NULL;
		}
	}
	return xdp_prog_create(dp);
}

static int tc_helper_attach(struct gw_dp *dp, int ifindex);

static const char *mode_str(enum xdp_attach_mode m)
{
	return m == XDP_MODE_NATIVE ? "native" : m == XDP_MODE_SKB ? "generic" : "unspec";
}

int gw_dp_attach_xdp(struct gw_dp *dp, int ifindex, enum gw_xdp_mode mode,
		     enum gw_attach_kind *kind)
{
	enum xdp_attach_mode tries[2], got;
	int n = 0, i, err, cur;

	cur = gw_dp_attached(dp->pin_root, ifindex);
	if (cur > 0) {
		pr_warn("dp: gw is already attached to ifindex %d (%s); detach first\n", ifindex,
			gw_attach_kind_str((enum gw_attach_kind)cur));
		return -EEXIST;
	}
	err = xdp_prog_get(dp);
	if (err)
		return err;

	if (mode == GW_XDP_AUTO || mode == GW_XDP_NATIVE)
		tries[n++] = XDP_MODE_NATIVE;
	if (mode == GW_XDP_AUTO || mode == GW_XDP_GENERIC)
		tries[n++] = XDP_MODE_SKB;
	err = -EINVAL;
	capture_begin();
	for (i = 0; i < n; i++) {
		err = xdp_program__attach(dp->xprog, ifindex, tries[i], 0);
		if (!err)
			break;
		pr_debug("dp: %s XDP on ifindex %d failed: %s\n", mode_str(tries[i]), ifindex,
			 strerror(-err));
		/* A program that did not load (verifier) fails the same way in
		 * every mode; so does an interface that has XDP already. */
		if (err == -EEXIST || err == -EBUSY || xdp_program__fd(dp->xprog) < 0)
			break;
	}
	capture_end(err != 0);
	if (err) {
		pr_warn("dp: cannot attach XDP to ifindex %d: %s\n", ifindex, strerror(-err));
		return err;
	}
	got = xdp_program__is_attached(dp->xprog, ifindex);
	if (kind)
		*kind = got == XDP_MODE_SKB ? GW_ATTACH_XDP_GENERIC : GW_ATTACH_XDP_NATIVE;
	/* Pinned (again): the program outlives this process, shared by
	 * every interface, visible to `bpftool prog show pinned`. */
	err = pin_prog_fd(dp, GW_XDP_PROG, xdp_program__fd(dp->xprog));
	if (err)
		return err;
	err = gw_ifaddr_sync_one(bpf_map__fd(dp->skel->maps.gw_ifaddr), ifindex);
	if (err)
		pr_warn("dp: XDP attached, but the addresses of ifindex %d are unknown: %s\n",
			ifindex, strerror(-err));
	else
		tc_helper_attach(dp, ifindex);
	return 0;
}

/* gw's program in the XDP setup of ifindex: returns 1 and its mode, 0 when
 * gw is not there; *prog_out (optional) gets a reference to close. */
static int xdp_find_gw(int ifindex, enum xdp_attach_mode *mode, struct xdp_multiprog **mp_out,
		       struct xdp_program **prog_out)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;

	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return 0;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (!p || strcmp(xdp_program__name(p), GW_XDP_PROG))
			p = NULL;
	} else {
		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (!strcmp(xdp_program__name(p), GW_XDP_PROG))
				break;
	}
	if (!p) {
		xdp_multiprog__close(mp);
		return 0;
	}
	if (mode)
		*mode = xdp_multiprog__attach_mode(mp);
	if (prog_out) {
		*prog_out = p;
		*mp_out = mp;
	} else {
		xdp_multiprog__close(mp);
	}
	return 1;
}

int gw_dp_xdp_dispatcher(int ifindex)
{
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p = NULL;
	int multi;

	hook_libxdp();
	if (!xdp_find_gw(ifindex, NULL, &mp, &p))
		return -ENOENT;
	multi = !xdp_multiprog__is_legacy(mp);
	xdp_multiprog__close(mp);
	return multi;
}

int gw_dp_prog_info(const char *pin_root, int xdp, struct gw_dp_prog_info *out)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd, err = 0;

	memset(out, 0, sizeof(*out));
	err = pin_path(out->pin, sizeof(out->pin), pin_root, "progs/%s",
		       xdp ? GW_XDP_PROG : GW_TC_PROG);
	if (err)
		return err;
	fd = bpf_obj_get(out->pin);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	out->id = info.id;
	out->btf_id = info.btf_id;
	out->jited = info.jited_prog_len > 0;
	out->type = info.type;
	snprintf(out->name, sizeof(out->name), "%s", info.name);
	for (len = 0; len < BPF_TAG_SIZE; len++)
		snprintf(out->tag + 2 * len, 3, "%02x", info.tag[len]);
out:
	close(fd);
	return err;
}

/* ------------------------------------------------------------------ */
/* TC                                                                   */

/* Opens slot's tcx link pinned for ifindex when it is still attached
 * there; a defunct pin (interface gone) is removed. Returns the fd or
 * -ENOENT. */
static int tcx_link_open(const char *root, const struct tc_slot *slot, int ifindex, char *path,
			 size_t len)
{
	struct bpf_link_info info;
	__u32 ilen = sizeof(info);
	int fd, err;

	err = pin_path(path, len, root, "links/%s-%d", slot->link, ifindex);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ENOENT;
	memset(&info, 0, sizeof(info));
	/* The tcx member of the union (6.6+ headers) starts with the
	 * ifindex, as the xdp member does. */
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) || (int)info.xdp.ifindex != ifindex) {
		close(fd);
		unlink(path);
		return -ENOENT;
	}
	return fd;
}

/* Returns 1 when slot's clsact filter holds its program on ifindex. */
static int tc_clsact_find(const struct tc_slot *slot, int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = slot->handle, .priority = slot->prio);
	char name[BPF_OBJ_NAME_LEN];
	int fd, qerr, found = 0;

	/* A missing clsact makes libbpf warn: not an error here. */
	capture_begin();
	qerr = bpf_tc_query(&hook, &o);
	capture_end(0);
	if (qerr)
		return 0;
	fd = bpf_prog_get_fd_by_id(o.prog_id);
	if (fd < 0)
		return 0;
	/* names are cut at BPF_OBJ_NAME_LEN - 1 */
	if (!prog_name_id(fd, name, NULL) && !strncmp(name, slot->prog, sizeof(name) - 1))
		found = 1;
	close(fd);
	return found;
}

/* Attaches slot's program at ifindex's TC ingress: a pinned tcx link when
 * the kernel has tcx, a clsact filter otherwise (probed, not assumed).
 * *kind (optional) says which. */
static int tc_attach_slot(struct gw_dp *dp, const struct tc_slot *slot, int ifindex,
			  enum gw_attach_kind *kind)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = slot->handle, .priority = slot->prio);
	char path[PATH_MAX];
	int pfd, lfd, err;

	err = pin_path(path, sizeof(path), dp->pin_root, "links/%s-%d", slot->link, ifindex);
	if (err)
		return err;
	pfd = tc_prog_get(dp, slot);
	if (pfd < 0)
		return pfd;

	/* Probe tcx by trying it: kernels without it reject the attach type
	 * with EINVAL. The link is pinned so it outlives this process. */
	lfd = bpf_link_create(pfd, ifindex, (enum bpf_attach_type)GW_BPF_TCX_INGRESS, NULL);
	if (lfd >= 0) {
		unlink(path);
		if (bpf_obj_pin(lfd, path)) {
			err = -errno;
			pr_warn("dp: cannot pin tcx link at %s: %s\n", path, strerror(-err));
			close(lfd);
			return err;
		}
		close(lfd);
		if (kind)
			*kind = GW_ATTACH_TCX;
		return 0;
	}
	err = -errno;
	if (err != -EINVAL && err != -EOPNOTSUPP && err != -GW_ENOTSUPP) {
		pr_warn("dp: tcx attach of %s to ifindex %d failed: %s\n", slot->prog, ifindex,
			strerror(-err));
		return err;
	}
	pr_debug("dp: no tcx (%s): using clsact\n", strerror(-err));

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("dp: cannot create clsact on ifindex %d: %s\n", ifindex, strerror(-err));
		return err;
	}
	o.prog_fd = pfd;
	err = bpf_tc_attach(&hook, &o);
	if (err) {
		pr_warn("dp: cannot attach %s to TC of ifindex %d: %s\n", slot->prog, ifindex,
			strerror(-err));
		return err;
	}
	if (kind)
		*kind = GW_ATTACH_CLSACT;
	return 0;
}

/* Removes slot's program from ifindex's TC ingress. Returns 1 when it was
 * there, 0 when not, or a negative errno. */
static int tc_detach_slot(const char *pin_root, const struct tc_slot *slot, int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = slot->handle, .priority = slot->prio);
	char path[PATH_MAX];
	int found = 0, err = 0, fd;

	fd = tcx_link_open(pin_root, slot, ifindex, path, sizeof(path));
	if (fd >= 0) {
		found = 1;
		if (bpf_link_detach(fd))
			pr_debug("dp: tcx link detach: %s\n", strerror(errno));
		close(fd);
		if (unlink(path))
			err = -errno;
	}
	if (tc_clsact_find(slot, ifindex)) {
		found = 1;
		if (!err)
			err = bpf_tc_detach(&hook, &o);
	}
	return err ? err : found;
}

int gw_dp_attach_tc(struct gw_dp *dp, int ifindex, enum gw_attach_kind *kind)
{
	int cur, err;

	cur = gw_dp_attached(dp->pin_root, ifindex);
	if (cur > 0) {
		pr_warn("dp: gw is already attached to ifindex %d (%s); detach first\n", ifindex,
			gw_attach_kind_str((enum gw_attach_kind)cur));
		return -EEXIST;
	}
	err = tc_attach_slot(dp, &tc_main, ifindex, kind);
	if (err)
		return err;
	err = gw_ifaddr_sync_one(bpf_map__fd(dp->skel->maps.gw_ifaddr), ifindex);
	if (err)
		pr_warn("dp: TC attached, but the addresses of ifindex %d are unknown: %s\n",
			ifindex, strerror(-err));
	return 0;
}

/* Puts gw_tc_neigh beside gw_xdp on ifindex and tells XDP so
 * (GW_IFADDR_F_TC_HELPER): without it, packets toward an unresolved
 * neighbour are dropped until gwd has resolved it. Returns 0 or a
 * negative errno. */
static int tc_helper_attach(struct gw_dp *dp, int ifindex)
{
	int map = bpf_map__fd(dp->skel->maps.gw_ifaddr), err;

	if (tc_detach_slot(dp->pin_root, &tc_helper, ifindex) < 0)
		pr_debug("dp: stale gw_tc_neigh on ifindex %d not removed\n", ifindex);
	err = tc_attach_slot(dp, &tc_helper, ifindex, NULL);
	if (!err)
		err = gw_ifaddr_flags_set(map, ifindex, GW_IFADDR_F_TC_HELPER, 0);
	if (err)
		pr_warn("dp: no gw_tc_neigh on ifindex %d (%s): packets toward a neighbour not "
			"yet resolved are dropped (no_tc_helper) until gwd resolves it; "
			"bpf_redirect_neigh needs Linux 5.10\n", ifindex, strerror(-err));
	return err;
}

/* ------------------------------------------------------------------ */
/* Status and detach                                                    */

int gw_dp_attached(const char *pin_root, int ifindex)
{
	enum xdp_attach_mode mode;
	char path[PATH_MAX];
	int fd;

	hook_libxdp();
	if (xdp_find_gw(ifindex, &mode, NULL, NULL))
		return mode == XDP_MODE_SKB ? GW_ATTACH_XDP_GENERIC : GW_ATTACH_XDP_NATIVE;
	fd = tcx_link_open(pin_root, &tc_main, ifindex, path, sizeof(path));
	if (fd >= 0) {
		close(fd);
		return GW_ATTACH_TCX;
	}
	if (tc_clsact_find(&tc_main, ifindex))
		return GW_ATTACH_CLSACT;
	return GW_ATTACH_NONE;
}

/* Removes the program pins once no interface uses them. */
static void unpin_progs_if_unused(const char *root, int ifaddr_fd)
{
	char path[PATH_MAX];
	__u32 key;

	if (ifaddr_fd >= 0 && !bpf_map_get_next_key(ifaddr_fd, NULL, &key))
		return;
	if (!pin_path(path, sizeof(path), root, "progs/%s", GW_XDP_PROG))
		unlink(path);
	if (!pin_path(path, sizeof(path), root, "progs/%s", GW_TC_PROG))
		unlink(path);
	if (!pin_path(path, sizeof(path), root, "progs/%s", GW_TCN_PROG))
		unlink(path);
}

int gw_dp_detach(const char *pin_root, int ifindex)
{
	enum xdp_attach_mode mode = XDP_MODE_UNSPEC;
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p = NULL;
	char path[PATH_MAX];
	int found = 0, err = 0, e, fd;
	__u32 key = (__u32)ifindex;

	hook_libxdp();
	if (xdp_find_gw(ifindex, &mode, &mp, &p)) {
		found = 1;
		/* The mode it runs in: a program attached without the
		 * dispatcher (legacy) is only found again in its own mode. */
		e = xdp_program__detach(p, ifindex, mode, 0);
		if (e) {
			pr_warn("dp: cannot detach XDP from ifindex %d: %s\n", ifindex,
				strerror(-e));
			err = e;
		}
		xdp_multiprog__close(mp);
	}
	e = tc_detach_slot(pin_root, &tc_main, ifindex);
	if (e)
		found = 1;
	if (e < 0 && !err)
		err = e;
	e = tc_detach_slot(pin_root, &tc_helper, ifindex);
	if (e < 0 && !err)
		err = e;

	/* Forget the interface and, if it was the last, the program pins. */
	if (!pin_path(path, sizeof(path), pin_root, "gw_ifaddr")) {
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			if (!bpf_map_delete_elem(fd, &key))
				found = found ? found : 2;
			unpin_progs_if_unused(pin_root, fd);
			close(fd);
		}
	}
	if (!found)
		return -ENOENT;
	return err;
}

/* ------------------------------------------------------------------ */
/* Pinned maps                                                          */

static const struct {
	const char *name;
	size_t off;
} map_slots[] = {
	{ "gw_config", offsetof(struct gw_dp_maps, config) },
	{ "gw_filter_v4", offsetof(struct gw_dp_maps, filter.v4) },
	{ "gw_filter_v6", offsetof(struct gw_dp_maps, filter.v6) },
	{ "gw_ban_v4", offsetof(struct gw_dp_maps, filter.ban_v4) },
	{ "gw_ban_v6", offsetof(struct gw_dp_maps, filter.ban_v6) },
	{ "gw_config", offsetof(struct gw_dp_maps, filter.config) },
	{ "gw_rl_v4", offsetof(struct gw_dp_maps, rl_v4) },
	{ "gw_rl_v6", offsetof(struct gw_dp_maps, rl_v6) },
	{ "gw_services", offsetof(struct gw_dp_maps, lb.services) },
	{ "gw_svc_bloom", offsetof(struct gw_dp_maps, lb.svc_bloom) },
	{ "gw_maglev", offsetof(struct gw_dp_maps, lb.maglev) },
	{ "gw_backends", offsetof(struct gw_dp_maps, lb.backends) },
	{ "gw_ct", offsetof(struct gw_dp_maps, lb.ct) },
	{ "gw_nat", offsetof(struct gw_dp_maps, lb.nat) },
	{ "gw_ifaddr", offsetof(struct gw_dp_maps, ifaddr) },
	{ "gw_stats", offsetof(struct gw_dp_maps, stats) },
	{ "gw_svc_stats", offsetof(struct gw_dp_maps, svc_stats) },
	{ "gw_backend_stats", offsetof(struct gw_dp_maps, backend_stats) },
	{ "gw_backend_stats", offsetof(struct gw_dp_maps, lb.backend_stats) },
	{ "gw_nat_src", offsetof(struct gw_dp_maps, nat_src) },
	{ "gw_nat_events", offsetof(struct gw_dp_maps, nat_events) },
};

#define N_SLOTS (sizeof(map_slots) / sizeof(map_slots[0]))
#define SLOT(m, i) ((int *)((char *)(m) + map_slots[i].off))

static void maps_init(struct gw_dp_maps *m)
{
	size_t i;

	for (i = 0; i < N_SLOTS; i++)
		*SLOT(m, i) = -1;
}

int gw_dp_maps_open(const char *pin_root, struct gw_dp_maps *m)
{
	char path[PATH_MAX];
	size_t i;
	int err;

	maps_init(m);
	if (!pin_root)
		pin_root = GW_PIN_ROOT_DEFAULT;
	for (i = 0; i < N_SLOTS; i++) {
		err = pin_path(path, sizeof(path), pin_root, "%s", map_slots[i].name);
		if (err)
			goto err;
		*SLOT(m, i) = bpf_obj_get(path);
		if (*SLOT(m, i) < 0) {
			err = -errno;
			if (err == -ENOENT)
				pr_warn("dp: no gw datapath pinned at %s (%s missing): attach first\n",
					pin_root, map_slots[i].name);
			else
				pr_warn("dp: cannot open %s: %s\n", path, strerror(-err));
			goto err;
		}
	}
	return 0;
err:
	gw_dp_maps_close(m);
	return err;
}

int gw_dp_maps_from(const struct gw_dp *dp, struct gw_dp_maps *m)
{
	size_t i;
	int fd, err;

	maps_init(m);
	for (i = 0; i < N_SLOTS; i++) {
		fd = gw_dp_map_fd(dp, map_slots[i].name);
		if (fd < 0 || (*SLOT(m, i) = dup(fd)) < 0) {
			err = fd < 0 ? fd : -errno;
			gw_dp_maps_close(m);
			return err;
		}
	}
	return 0;
}

void gw_dp_maps_close(struct gw_dp_maps *m)
{
	size_t i;

	for (i = 0; i < N_SLOTS; i++) {
		if (*SLOT(m, i) >= 0)
			close(*SLOT(m, i));
		*SLOT(m, i) = -1;
	}
}

/* ------------------------------------------------------------------ */
/* State                                                                */

int gw_dp_config_get(const struct gw_dp_maps *m, struct gw_config *cfg)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(m->config, &key, cfg) ? -errno : 0;
}

int gw_dp_config_set(const struct gw_dp_maps *m, const struct gw_config *cfg)
{
	__u32 key = 0;

	return bpf_map_update_elem(m->config, &key, cfg, BPF_ANY) ? -errno : 0;
}

int gw_dp_counter_sum(int fd, __u32 idx, struct gw_counter *sum)
{
	int ncpu = libbpf_num_possible_cpus(), i, err = 0;
	struct gw_counter *vals;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &idx, vals)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < ncpu; i++) {
		sum->packets += vals[i].packets;
		sum->bytes += vals[i].bytes;
	}
out:
	free(vals);
	return err;
}

int gw_dp_foreach_service(const struct gw_dp_maps *m,
			  int (*fn)(const struct gw_svc_key *k, const struct gw_svc *s, void *arg),
			  void *arg)
{
	struct gw_svc_key key, next;
	__u32 max = gw_map_max_entries(m->lb.services), n = 0;
	struct gw_svc svc;
	void *prev = NULL;
	int ret;

	while (n++ < max && !bpf_map_get_next_key(m->lb.services, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->lb.services, &key, &svc))
			continue;	/* removed meanwhile */
		ret = fn(&key, &svc, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int gw_dp_foreach_backend(const struct gw_dp_maps *m, __u32 svc_id,
			  int (*fn)(__u32 id, const struct gw_backend *b, void *arg), void *arg)
{
	__u32 max = gw_map_max_entries(m->lb.backends), id;
	struct gw_backend b;
	int ret;

	/* id 0 means "no backend" */
	for (id = 1; id < max; id++) {
		if (bpf_map_lookup_elem(m->lb.backends, &id, &b))
			return -errno;
		if (!(b.flags & GW_BE_F_VALID))
			continue;
		if (svc_id != (__u32)-1 && b.svc_id != svc_id)
			continue;
		ret = fn(id, &b, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int gw_dp_foreach_ct(const struct gw_dp_maps *m,
		     int (*fn)(const struct gw_flow *f, const struct gw_ct *ct, void *arg),
		     void *arg)
{
	struct gw_flow key, next;
	__u32 max = gw_map_max_entries(m->lb.ct), n = 0;
	struct gw_ct ct;
	void *prev = NULL;
	int ret;

	/* An LRU walk restarts when the current key is evicted: bounded. */
	while (n++ < max && !bpf_map_get_next_key(m->lb.ct, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->lb.ct, &key, &ct))
			continue;
		ret = fn(&key, &ct, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Names                                                                */

const char *gw_attach_kind_str(enum gw_attach_kind kind)
{
	switch (kind) {
	case GW_ATTACH_XDP_NATIVE:
		return "xdp-native";
	case GW_ATTACH_XDP_GENERIC:
		return "xdp-generic";
	case GW_ATTACH_TCX:
		return "tcx";
	case GW_ATTACH_CLSACT:
		return "tc-clsact";
	default:
		return "none";
	}
}

int gw_xdp_mode_parse(const char *s, enum gw_xdp_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = GW_XDP_AUTO;
	else if (!strcmp(s, "native") || !strcmp(s, "drv"))
		*mode = GW_XDP_NATIVE;
	else if (!strcmp(s, "generic") || !strcmp(s, "skb"))
		*mode = GW_XDP_GENERIC;
	else
		return -EINVAL;
	return 0;
}

/* ---- unloading ---------------------------------------------------------- */

int gw_dp_attached_ifaces(int ifaddr_fd, __u32 *ids, int max)
{
	__u32 key, next;
	void *prev = NULL;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(ifaddr_fd, prev, &next)) {
		ids[n++] = next;
		key = next;
		prev = &key;
	}
	return n;
}

static int unlink_pins(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type == DT_DIR)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (unlink(path) && !err)
			err = -errno;
	}
	closedir(d);
	return err;
}

int gw_dp_unload(const char *pin_root)
{
	static const char *const subdirs[] = { "progs", "links", "" };
	__u32 ids[GW_IFADDR_MAX];
	struct gw_dp_maps m;
	char path[PATH_MAX];
	int n, i, e, err = 0;

	if (gw_dp_maps_open(pin_root, &m) == 0) {
		n = gw_dp_attached_ifaces(m.ifaddr, ids, GW_IFADDR_MAX);
		gw_dp_maps_close(&m);
		for (i = 0; i < n; i++) {
			e = gw_dp_detach(pin_root, (int)ids[i]);
			if (e && e != -ENOENT && !err)
				err = e;
		}
	}
	/* The pins, then the directories (the root last). */
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_root, subdirs[i]);
		e = unlink_pins(path);
		if (e && !err)
			err = e;
	}
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_root, subdirs[i]);
		rmdir(path);
	}
	return err;
}
