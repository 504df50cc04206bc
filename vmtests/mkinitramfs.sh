#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Builds the initramfs of gw's VM tests: a static busybox, vmtests/init, and
# the modules a guest needs to mount the host's root over virtio 9p, taken
# from the tested kernel's own module tree and listed in load order.
#
# Usage: vmtests/mkinitramfs.sh OUT.cpio [MODULES-DIR]
#   MODULES-DIR  /lib/modules/<version> of the tested kernel; without it (a
#                kernel with virtio-pci and 9p built in) no module is packed.
# Exit status: 0 when OUT.cpio was written.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: mkinitramfs.sh OUT.cpio [MODULES-DIR]}
moddir=${2:-}
# What the guest needs before it can reach the host's root: the virtio PCI
# transport, 9p over virtio, and the 9p file system.
wanted=(virtio_pci 9pnet_virtio 9p)

die() { echo "mkinitramfs: $*" >&2; exit 1; }

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"
# A dynamic busybox would need the host's loader and libc in the initramfs.
readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter' &&
	die "$busybox is not static (apt-get install busybox-static)"
command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"

stage=$(mktemp -d /tmp/gw-initramfs.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,mnt/root,lib/modules,tmp}
cp "$busybox" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
chmod 755 "$stage/init"
# The kernel's module autoloader runs /proc/sys/kernel/modprobe with the
# initramfs as its root: this one runs the host's modprobe inside the host
# root, where the tested kernel's /lib/modules tree lives.
cat >"$stage/bin/gw-modprobe" <<'EOF'
#!/bin/busybox sh
exec /bin/busybox chroot /mnt/root /sbin/modprobe "$@"
EOF
chmod 755 "$stage/bin/gw-modprobe"

# Copies one module, decompressed (busybox insmod reads plain ELF only).
# Prints nothing; returns non-zero when the module cannot be read.
copy_module() {
	local src=$1 dst=$2
	case $src in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) return 1 ;;
	esac
}

: >"$stage/modules.order"
if [ -n "$moddir" ]; then
	[ -f "$moddir/modules.dep" ] || die "$moddir/modules.dep missing (run depmod)"
	declare -A seen=()
	for mod in "${wanted[@]}"; do
		# modules.dep names a module's dependencies so that loading them
		# from the last to the first satisfies each one's own needs.
		line=$(grep -E "(^|/)${mod}\.ko(\.[a-z]+)?:" "$moddir/modules.dep" || true)
		if [ -z "$line" ]; then
			grep -qE "(^|/)${mod}\.ko\$" "$moddir/modules.builtin" 2>/dev/null ||
				echo "mkinitramfs: $mod is neither a module nor built in;" \
					"the guest may not find its root" >&2
			continue
		fi
		self=${line%%:*}
		read -r -a deps <<<"${line#*:}"
		order=()
		for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
			order+=("${deps[i]}")
		done
		order+=("$self")
		for rel in "${order[@]}"; do
			[ -n "${seen[$rel]:-}" ] && continue
			seen[$rel]=1
			name=$(basename "$rel")
			name=${name%%.ko*}.ko
			copy_module "$moddir/$rel" "$stage/lib/modules/$name" ||
				die "cannot read $moddir/$rel"
			echo "$name" >>"$stage/modules.order"
		done
	done
fi

(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) >"$out.$$"
mv "$out.$$" "$out"
