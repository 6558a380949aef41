#!/usr/bin/env bash
# tests/gpu/check_kit_chroot.sh — proves the GPU kit self-contained on this CPU machine: runs the
# kit's run.sh inside a minimal Debian root made with debootstrap, where nothing of the build tree,
# no -dev package, no Python and no MPI exist. Only the CUDA toolkit's library folder is
# bind-mounted, read-only, at /usr/local/cuda/lib64, as a GPU machine has it. Without a GPU every
# GPU step skips itself, munet info answers, a tiny munet evolve --device cpu runs and
# munet evolve --device cuda gives the clear no-GPU message. Needs root (debootstrap, mount,
# chroot) and a Debian mirror the first time. Not part of CI.
#
#   bash tests/gpu/check_kit_chroot.sh KITDIR [ROOTDIR]
#
# KITDIR: the folder tests/gpu/make_kit.sh made. ROOTDIR: where the Debian root lives (default
# <repo>/build-kit/debian-root; made once with debootstrap --variant=minbase, then reused).
# Environment: MUNET_DEBIAN_MIRROR (default http://deb.debian.org/debian)
#              MUNET_CUDA_LIB      the toolkit's library folder (default: where libcublas.so.* is
#                                  under /usr/local/cuda)
# Prints run.sh's output and summary; exit status is run.sh's.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  [[ $# -ge 1 ]] && exit 0 || exit 2
fi
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kit=$(cd "$1" && pwd)
root=${2:-$repo/build-kit/debian-root}
[[ -x $kit/run.sh && -d $kit/bin ]] || { echo "error: $kit is not a kit (no run.sh or bin/)" >&2; exit 2; }
((EUID == 0)) || { echo "error: needs root (debootstrap, mount, chroot)" >&2; exit 2; }

if [[ ! -e $root/etc/debian_version ]]; then
  command -v debootstrap >/dev/null || { echo "error: install debootstrap" >&2; exit 1; }
  echo "==> debootstrap --variant=minbase bookworm $root"
  debootstrap --variant=minbase bookworm "$root" "${MUNET_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
fi
cuda_lib=${MUNET_CUDA_LIB:-$(dirname "$(ls /usr/local/cuda/lib*/libcublas.so.* 2>/dev/null | head -1)")}
[[ -e $cuda_lib/libcublas.so.13 || -n $(ls "$cuda_lib"/libcublas.so.* 2>/dev/null) ]] ||
  { echo "error: no cuBLAS under $cuda_lib (set MUNET_CUDA_LIB)" >&2; exit 1; }

echo "==> the root: $(cat "$root/etc/debian_version"), $(chroot "$root" dpkg-query -W | wc -l) packages;" \
  "python3: $(chroot "$root" sh -c 'command -v python3 || echo none')"
rm -rf "$root/kit" "$root/results"
cp -a "$kit" "$root/kit"
rm -f "$root/kit/kit.tar.xz"
mounts=()
cleanup() {
  local m
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mkdir -p "$root/usr/local/cuda/lib64" "$root/proc"
mount --bind "$cuda_lib" "$root/usr/local/cuda/lib64" && mounts+=("$root/usr/local/cuda/lib64")
mount -o remount,bind,ro "$root/usr/local/cuda/lib64"
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
echo "==> chroot $root /kit/run.sh /results   (cuBLAS: $cuda_lib at /usr/local/cuda/lib64, read-only)"
status=0
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root /kit/run.sh /results || status=$?
echo "==> run.sh exit status $status; /results/summary.md:"
cat "$root/results/summary.md"
exit "$status"
