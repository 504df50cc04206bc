#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Runs inside a gw test VM, in the host's root mounted read-only (started by
# vmtests/init, or by virtme-ng's `vng --exec`). Mounts what the tests need
# and is not mounted yet, reports the kernel features gw probes for, runs
# tests/run.sh for each suite the host wrote to RESULTS/job, and leaves
# in RESULTS: test.log (the whole output), logs/ (each test's log), summary
# (the closing line), features, and rc (0 when every suite passed), written
# last.
#
# Usage: guest.sh --results DIR [--mount-tag TAG]
#   --results DIR    writable directory shared with the host
#   --mount-tag TAG  mount the 9p share TAG on DIR first
# Exit status: 0 when every suite passed; 2 when the guest cannot be set up.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp LC_ALL=C.UTF-8

results='' tag=''
while [ $# -gt 0 ]; do
	case $1 in
	--results) results=$2; shift 2 ;;
	--mount-tag) tag=$2; shift 2 ;;
	*) echo "guest.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$results" ] || { echo "guest.sh: --results DIR is required" >&2; exit 2; }

# Mounts FSTYPE on DIR unless something is mounted there already; returns
# mount's status (0 when already mounted).
mnt() {
	local fstype=$1 dir=$2 opts=${3:-}
	mountpoint -q "$dir" && return 0
	mkdir -p "$dir" 2>/dev/null
	mount -t "$fstype" ${opts:+-o "$opts"} "$fstype" "$dir"
}

echo "gw-vm: guest.sh on $(uname -r)"
mnt proc /proc
mnt sysfs /sys
mnt devtmpfs /dev
mnt devpts /dev/pts
mnt tmpfs /dev/shm mode=1777
# The root is read-only: everything the tests write goes to tmpfs.
mnt tmpfs /tmp mode=1777
mnt tmpfs /run mode=755
mnt bpf /sys/fs/bpf
mnt cgroup2 /sys/fs/cgroup
mnt debugfs /sys/kernel/debug
mnt tracefs /sys/kernel/tracing

if [ -n "$tag" ]; then
	mkdir -p "$results"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 "$tag" "$results" ||
		{ echo "guest.sh: cannot mount the results share $tag" >&2; exit 2; }
fi
[ -f "$results/job" ] || { echo "guest.sh: $results/job missing" >&2; exit 2; }
# shellcheck source=/dev/null
. "$results/job" # sets GW_REPO, the array GW_SUITES, GW_FILTER and GW_KERNEL_ONLY
[ -n "${GW_REPO:-}" ] || { echo "guest.sh: job sets no GW_REPO" >&2; exit 2; }

hostname gw-vm 2>/dev/null
ip link set lo up

# What this kernel offers among what gw probes for at run time. Shown for
# the record only: gw and its tests do their own probing.
features() {
	local btf=/sys/kernel/btf/vmlinux tcx=no ktls
	if [ -r "$btf" ] && grep -qa BPF_TCX_INGRESS "$btf"; then
		tcx=yes
	fi
	# kTLS as a test meets it: TCP_ULP "tls" on a connected socket, which
	# also loads the module through the kernel's autoloader.
	ktls=$(python3 - 2>&1 <<'PYEOF'
import socket
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cli = socket.create_connection(srv.getsockname(), timeout=5)
try:
    cli.setsockopt(socket.IPPROTO_TCP, 31, b"tls")  # TCP_ULP
    print("yes")
except OSError as e:
    print("no (%s)" % e.strerror)
PYEOF
	)
	printf 'kernel %s: btf %s, tcx %s%s, ktls %s, nproc %s, mem %s MiB\n' \
		"$(uname -r)" "$([ -r "$btf" ] && echo yes || echo no)" "$tcx" \
		"$([ "$tcx" = no ] && echo ' (tc attaches through clsact)')" "$ktls" \
		"$(nproc)" "$(($(awk '/MemTotal/ { print $2 }' /proc/meminfo) / 1024))"
}
# kTLS (test_l7_ktls.sh): the tls module where the kernel has one; gwd
# would load it on first use too, but the features line shows it loaded.
modprobe tls 2>/dev/null || echo "guest: no tls module: the kTLS tests skip"
features | tee "$results/features"
echo "guest: set up at $(cut -d' ' -f1 /proc/uptime) s of uptime"

cd "$GW_REPO" || exit 2
# Each test's log is kept (in RESULTS/logs) after a pass too: its stamped
# lines show where the guest's time goes.
export GW_KEEP_LOGS=1
# One tests/run.sh per suite; the closing line adds them up.
start=$(date +%s)
rc=0 passed=0 failed=0 skipped=0
: >"$results/test.log"
for suite in "${GW_SUITES[@]}"; do
	echo "guest: tests/run.sh $suite${GW_FILTER:+ $GW_FILTER}" | tee -a "$results/test.log"
	t0=$(date +%s)
	GW_KERNEL_ONLY=${GW_KERNEL_ONLY:-1} tests/run.sh "$suite" ${GW_FILTER:+"$GW_FILTER"} 2>&1 |
		tee "$results/suite.log"
	src=${PIPESTATUS[0]}
	cat "$results/suite.log" >>"$results/test.log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$results/suite.log" | tail -n 1)
	if [ -n "$line" ]; then
		read -r p _ f _ s _ <<<"${line//,/}"
	else
		p=0 f=1 s=0 # died without its closing line
	fi
	[ "$src" != 0 ] && [ "$f" = 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$src" = 0 ] || rc=1
	echo "guest: suite $suite took $(($(date +%s) - t0)) s"
done
rm -f "$results/suite.log"
# tests/run.sh keeps each test's log in /tmp, which ends with the VM.
mkdir -p "$results/logs"
cp -r /tmp/gw-test-logs.* "$results/logs/" 2>/dev/null
echo "guest: tests took $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed, $skipped skipped" >"$results/summary"
echo "guest: all suites: $(cat "$results/summary")"
echo "$rc" >"$results/rc.tmp" && mv "$results/rc.tmp" "$results/rc"
sync
exit "$rc"
