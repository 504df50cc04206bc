#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Runs gw's test suites inside a VM on another kernel (Debian's 6.1 by
# default) and returns their result. The guest sees the host's root
# read-only, so it runs the binaries built on the host; it writes only to
# tmpfs and to a results share. With virtme-ng installed (`vng`) the VM is
# virtme-ng's; otherwise QEMU is started here: KVM when it can boot the
# kernel, TCG otherwise.
#
# Usage: vmtests/run.sh [OPTIONS] [--] [SUITES [FILTER]]
#   SUITES            comma-separated tests/run.sh suites to run in the guest,
#                     one tests/run.sh call each (default bpf,integ; `all`
#                     adds the unit tests)
#   FILTER            tests/run.sh's name filter
#   --kernel PATH     bzImage or vmlinux to boot (default: the newest
#                     /boot/vmlinuz-6.1*-amd64)
#   --modules DIR     its module tree (default: /lib/modules/<its version>,
#                     if that exists; else virtio-pci and 9p must be built in)
#   --timeout SECS    kill the VM after SECS (default 1500)
#   --accel MODE      auto, kvm or tcg (default auto)
#   --cpus N --mem MB guest size (default 2 CPUs, 2048 MB)
#   --append ARGS     more kernel command line (QEMU runner), e.g. loglevel=7
#   --no-vng          use the QEMU runner even when vng is installed
#   --all-tests       run the integration tests marked "# vm: skip (...)"
#                     too (user space only: the L7 suites, docs, install);
#                     by default the guest spends its time on what depends
#                     on the kernel
# GW_TEST_TIMEOUT=SECS in the environment: tests/run.sh's limit per
# integration test in the guest (300 s; the L7 suites of --all-tests can
# need more in a guest on a loaded host).
# Closing line: "vm: N passed, N failed, N skipped (kernel VERSION, ...)".
# Logs stay in build/vm/run-VERSION-TIME/. Exit status: the guest's tests/run.sh
# status; 1 when the VM hung, panicked or died before reporting; 2 on bad use.
set -u
callerdir=$PWD
cd "$(dirname "$0")/.." || exit 2
repo=$(pwd)
BUILD=${BUILD:-build}

kernel='' moddir='' timeout=1500 accel=auto cpus=2 mem=2048 use_vng=auto append='' kernel_only=1
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$(cd "$callerdir" && readlink -f -- "$2"); shift 2 ;;
	--modules) moddir=$(cd "$callerdir" && readlink -f -- "$2"); shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--no-vng) use_vng=no; shift ;;
	--all-tests) kernel_only=0; shift ;;
	-h | --help) sed -n '3,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; args+=("$@"); break ;;
	-*) echo "vmtests/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) args+=("$1"); shift ;;
	esac
done

log() { echo "vmtest: $*"; }
die() { echo "vmtest: $*" >&2; exit 2; }

case $repo in
*[[:space:]]*) die "the repo path must not contain white space: $repo" ;;
esac
[ "$(id -u)" = 0 ] || die "needs root (the guest's tests load BPF programs as root on the host's files)"
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout wants seconds"

if [ -z "$kernel" ]; then
	kernel=$(ls /boot/vmlinuz-6.1*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$kernel" ] || die "no /boot/vmlinuz-6.1*-amd64: run 'make deps' (linux-image-amd64)"
fi
[ -r "$kernel" ] || die "cannot read kernel $kernel"
kernel=$(readlink -f "$kernel")

# Prints the version string of a bzImage (from its setup header) or of an ELF
# vmlinux (from its linux_banner); returns non-zero when none is found.
kernel_version() {
	local img=$1 off ver
	if [ "$(head -c 4 "$img" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		ver=$(LC_ALL=C grep -aom1 'Linux version [^ ]*' "$img" | head -n 1)
		ver=${ver#Linux version }
	elif [ "$(dd if="$img" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ]; then
		off=$(od -An -j 526 -N 2 -tu2 "$img" | tr -d ' ')
		ver=$(dd if="$img" bs=1 skip=$((off + 512)) count=128 2>/dev/null |
			tr '\0' '\n' | head -n 1)
		ver=${ver%% *}
	fi
	[ -n "${ver:-}" ] && echo "$ver"
}

kver=$(kernel_version "$kernel") || die "$kernel: not a bzImage or vmlinux"
if [ -z "$moddir" ] && [ -d "/lib/modules/$kver" ]; then
	moddir=/lib/modules/$kver
fi
[ ${#args[@]} -le 2 ] || die "too many arguments: SUITES [FILTER] (see --help)"
suites=${args[0]:-bpf,integ}
filter=${args[1]:-}
[ -d "$BUILD/tests" ] || die "$BUILD/tests missing: build first (make, or make vmtest)"

stamp=$(date +%Y%m%d-%H%M%S)
vmdir=$repo/$BUILD/vm
outdir=$vmdir/run-$kver-$stamp-$$
mkdir -p "$outdir/share" || die "cannot create $outdir"
# The ten newest runs keep their logs; cached kernels unused for a week go.
ls -dt "$vmdir"/run-* 2>/dev/null | tail -n +11 | xargs -r rm -rf
find "$vmdir/cache" -mindepth 1 -maxdepth 1 -type d -atime +7 -exec rm -rf {} + 2>/dev/null
console=$outdir/console.log
stream=$outdir/output.log

# The job the guest runs: the repo, the suites, the filter.
{
	printf 'GW_REPO=%q\n' "$repo"
	printf 'GW_SUITES=(%s)\n' "$(printf '%q ' ${suites//,/ })"
	printf 'GW_FILTER=%q\n' "$filter"
	printf 'GW_KERNEL_ONLY=%q\n' "$kernel_only"
	[ -z "${GW_TEST_TIMEOUT:-}" ] || printf 'export GW_TEST_TIMEOUT=%q\n' "$GW_TEST_TIMEOUT"
	printf 'BUILD=%q\n' "$BUILD"
	printf 'export BUILD\n'
} >"$outdir/share/job"

qpid='' tpid=''
trap 'stop_vm' EXIT
trap 'log "interrupted"; exit 1' INT TERM

# Prints the uncompressed ELF kernel inside a bzImage into OUT when it can
# be booted directly (PVH entry): TCG spends seconds decompressing xz.
# Returns non-zero when the bzImage must be booted as it is.
extract_vmlinux() {
	local img=$1 out=$2 magic tool off
	for magic in '\xfd\x37\x7a\x58\x5a\x00:xz -dcq' '\x28\xb5\x2f\xfd:zstd -qdc' \
		'\x1f\x8b\x08:gzip -dcq' '\x5d\x00\x00:xz -dcq --format=lzma' \
		'\x02\x21\x4c\x18:lz4 -dcq'; do
		tool=${magic#*:}
		command -v "${tool%% *}" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "${magic%%:*}" "$img" | cut -d: -f1 | head -n 3); do
			tail -c +$((off + 1)) "$img" | $tool >"$out.$$" 2>/dev/null
			if [ "$(head -c 4 "$out.$$" | od -An -c | tr -d ' ')" = '177ELF' ] &&
				readelf -n "$out.$$" 2>/dev/null | grep -q 'Xen.*0x00000012'; then
				mv "$out.$$" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.$$"
	return 1
}

# The ELF kernel is cached by the kernel file's identity, the initramfs also
# by the module tree and the scripts that make it.
cache=$vmdir/cache/$kver-$(stat -c '%s-%Y' "$kernel")
initrd=$cache/initramfs-$({ echo "$moddir"; cat vmtests/init vmtests/mkinitramfs.sh; } |
	md5sum | cut -c1-8).cpio
boot=$kernel
if [ "$use_vng" != no ] && command -v vng >/dev/null; then
	use_vng=yes
else
	use_vng=no
	mkdir -p "$cache"
	if [ -f "$cache/vmlinux" ]; then
		boot=$cache/vmlinux
	elif [ "$(head -c 4 "$kernel" | od -An -c | tr -d ' ')" != '177ELF' ] &&
		extract_vmlinux "$kernel" "$cache/vmlinux"; then
		boot=$cache/vmlinux
	fi
	if [ ! -f "$initrd" ]; then
		rm -f "$cache"/initramfs-*.cpio
		vmtests/mkinitramfs.sh "$initrd" "$moddir" || die "initramfs failed"
	fi
fi

# Tells whether KVM is worth trying: /dev/kvm is there and the last run on
# this host kernel did not find it unable to boot a guest. Returns 0 if so.
kvm_usable() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	[ "$(cat "$kvm_verdict" 2>/dev/null)" != broken ]
}

# Boots the VM with ACCEL (kvm or tcg) in the background: QEMU, this
# initramfs, the host's root read-only and the results share; sets qpid.
start_qemu() {
	local acc=$1 cpu=max
	[ "$acc" = kvm ] && cpu=host
	[ "$acc" = tcg ] && acc=tcg,thread=multi
	: >"$console"
	: >"$stream"
	qemu-system-x86_64 -machine pc -accel "$acc" -cpu "$cpu" -smp "$cpus" -m "$mem" \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-kernel "$boot" -initrd "$initrd" \
		-append "console=ttyS0 earlyprintk=ttyS0 panic=-1 oops=panic loglevel=5 quiet \
tsc=reliable no_timer_check mitigations=off rdinit=/init gw.repo=$repo $append" \
		-serial "file:$console" -serial "file:$stream" \
		-fsdev local,id=gwroot,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=gwroot,mount_tag=gwroot \
		-fsdev local,id=gwres,path="$outdir/share",security_model=none,multidevs=remap \
		-device virtio-9p-pci,fsdev=gwres,mount_tag=gwres \
		</dev/null >>"$outdir/qemu.log" 2>&1 &
	qpid=$!
}

# Boots the kernel under virtme-ng (TCG when ACCEL is tcg) in the background,
# running guest.sh in a snapshot of the host; sets qpid.
start_vng() {
	local nokvm=
	[ "$1" = tcg ] && nokvm=--disable-kvm
	: >"$stream"
	# Its own session, so that a timeout ends vng and its QEMU together.
	setsid vng --run "$kernel" --user root --cpus "$cpus" --memory "${mem}M" \
		--rwdir "$outdir/share" $nokvm \
		--exec "bash $repo/vmtests/guest.sh --results $outdir/share" \
		</dev/null >"$stream" 2>"$console" &
	qpid=$!
}

# Streams the guest's test output while QEMU runs, each line labelled with
# the kernel; sets tpid.
follow() {
	tail --pid="$qpid" -n +1 -F "$stream" 2>/dev/null > >(tr -d '\r' | sed -u "s/^/[$kver] /") &
	tpid=$!
}

# Tells whether the guest has spoken yet (vmtests/init or guest.sh print
# "gw-vm: ..." first thing); returns 0 if so.
booted() {
	grep -qs 'gw-vm: ' "$console" "$stream"
}

# Waits for the VM to end; returns 0 when it did, 1 on timeout, 4 when the
# guest kernel reported a soft lockup or an RCU stall. With
# BOOT_LIMIT > 0, returns 3 when the guest has not spoken after BOOT_LIMIT
# seconds or the VM ended before it did (a KVM that cannot run this
# kernel: it hangs, or QEMU aborts).
wait_vm() {
	local boot_limit=$1 t=0
	while kill -0 "$qpid" 2>/dev/null; do
		if [ "$boot_limit" -gt 0 ] && ! booted; then
			[ "$t" -ge "$boot_limit" ] && return 3
		else
			boot_limit=0
		fi
		[ "$t" -ge "$timeout" ] && return 1
		# A guest kernel that locked up will not recover: end it now.
		grep -qsE 'soft lockup|self-detected stall' "$console" && return 4
		sleep 1
		t=$((t + 1))
	done
	wait "$qpid" 2>/dev/null
	[ "$boot_limit" -gt 0 ] && ! booted && return 3
	return 0
}

# Ends QEMU and the output stream; prints nothing.
stop_vm() {
	if [ -n "$qpid" ]; then
		[ "$use_vng" = yes ] && kill -9 -- "-$qpid" 2>/dev/null
		kill -9 "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	if [ -n "$tpid" ]; then
		# tail leaves by itself once QEMU is gone; give it a moment to
		# print the last lines.
		sleep 1
		kill "$tpid" 2>/dev/null
		wait "$tpid" 2>/dev/null
	fi
	qpid='' tpid=''
}

start=$(date +%s)
status=0
kvm_verdict=$vmdir/cache/kvm-$(uname -r)
# While the VM runs, this shell's own stderr (where bash reports a QEMU
# that aborted) goes to qemu.log.
exec 3>&2 2>>"$outdir/qemu.log"
# Boots the VM with ACCEL (kvm or tcg); sets qpid and tpid.
launch() {
	if [ "$use_vng" = yes ]; then
		start_vng "$1"
	else
		start_qemu "$1"
	fi
	follow
}

if [ "$accel" = auto ]; then
	accel=tcg
	kvm_usable && accel=kvm
fi
how=$accel
if [ "$use_vng" = yes ]; then
	how="vng $accel"
	log "kernel $kver ($kernel) via virtme-ng, $accel, results in $outdir"
else
	log "kernel $kver ($boot), $accel, $cpus CPUs, $mem MB, results in $outdir"
fi
launch "$accel"
if [ "$accel" = kvm ]; then
	# A KVM guest speaks within seconds; one that has not after 30 s
	# never will (a nested KVM that cannot run this kernel).
	wait_vm 30 || status=$?
	if [ "$status" = 3 ]; then
		stop_vm
		echo broken >"$kvm_verdict"
		log "KVM cannot boot this kernel here (see $outdir/qemu.log): using TCG"
		mv "$console" "$outdir/console-kvm.log"
		how=${how/kvm/tcg} status=0
		start=$(date +%s)
		launch tcg
		wait_vm 0 || status=$?
	fi
else
	wait_vm 0 || status=$?
fi
# A guest kernel lockup (seen once on Debian's 6.1 under TCG, in ping while a
# test set up its veths, nothing of gw attached) gets one more boot; the
# locked-up console is kept and the result says it was retried.
if [ "$status" = 4 ]; then
	stop_vm
	mv "$console" "$outdir/console-lockup.log"
	log "the guest kernel locked up (console: $outdir/console-lockup.log); booting again"
	rm -rf "$outdir/share/rc" "$outdir/share/summary" "$outdir/share/logs"
	how="$how, retried after a guest lockup"
	status=0
	start=$(date +%s)
	case $how in
	*tcg*) launch tcg ;;
	*) launch "$accel" ;;
	esac
	wait_vm 0 || status=$?
fi
elapsed=$(($(date +%s) - start))
stop_vm
exec 2>&3 3>&-

share=$outdir/share
label="kernel $kver, $how, ${elapsed} s"
# Kernel warnings and oopses are worth seeing even when the tests passed.
if grep -qE 'WARNING:|BUG:|Oops|Call Trace|Kernel panic' "$console" 2>/dev/null; then
	log "the guest kernel logged warnings (see $console):"
	grep -E -A3 'WARNING:|BUG:|Oops|Kernel panic' "$console" | head -n 40 | sed 's/^/    /'
fi
if [ "$status" = 1 ] || [ "$status" = 4 ] || [ ! -f "$share/rc" ]; then
	if [ "$status" = 1 ]; then
		why="timed out after $timeout s"
	elif [ "$status" = 4 ]; then
		why="guest kernel locked up twice"
	else
		why="died before reporting"
	fi
	log "the VM $why; console log: $console"
	tail -n 40 "$console" | tr -d '\r' | sed 's/^/    /'
	echo "vm: 0 passed, 1 failed, 0 skipped ($label, $why)"
	exit 1
fi

rc=$(cat "$share/rc")
summary=$(cat "$share/summary" 2>/dev/null)
[ -n "$summary" ] || summary="0 passed, 1 failed, 0 skipped"
# A run that found no test proves nothing.
if [[ $summary == "0 passed, 0 failed, 0 skipped" ]]; then
	log "no test ran in the guest (nothing built, or nothing matched '$suites $filter')"
	summary="0 passed, 1 failed, 0 skipped"
	rc=1
fi
log "logs in $outdir (each test's log in share/logs)"
echo "vm: $summary ($label)"
exit "$rc"
