#!/bin/bash
# One-time setup of the VM harness that gives tests a real Linux HID stack
# (uhid -> hidraw) without hardware: qemu, Debian's kernel, a busybox initramfs.
# Idempotent: does nothing when the work directory is already prepared.
set -eux
HERE=$(cd "$(dirname "$0")" && pwd)
W=${HARNESS_WORK:-/tmp/hid-vm}; mkdir -p $W
if [ -s $W/kernel/vmlinux ] && [ -s $W/initramfs.cpio.gz ] && command -v qemu-system-x86_64 >/dev/null && command -v fido2-token >/dev/null; then
    # Prepared already; only a changed init script means a new initramfs.
    if [ "$HERE" != "$W" ] && ! cmp -s "$HERE/init" "$W/init"; then
        cp "$HERE"/init "$HERE"/build-initramfs.sh "$W"/
        (cd $W && ./build-initramfs.sh $W/kernel $W/initramfs.cpio.gz)
    fi
    exit 0
fi
[ "$HERE" = "$W" ] || cp "$HERE"/init "$HERE"/build-initramfs.sh "$W"/
cd $W
# 1) Host packages. NOTE: on this image qemu-utils 10.0.2 comes from bookworm-backports; installing
#    bookworm's qemu-system-x86 7.2 REMOVES it, so take qemu-system-x86 from backports too,
#    through a private apt config (sources/lists/cache under $W/apt, system sources untouched).
#    Do NOT apt-get install linux-image-amd64: it drags in initramfs-tools, udev and a systemd upgrade.
# Private apt config: the system's Debian sources plus the bookworm-backports suite (same mirror).
mkdir -p $W/apt/sources.d $W/apt/lists/partial $W/apt/cache/archives/partial
sed -E 's/^Suites:.*/Suites: bookworm-backports/' /etc/apt/sources.list.d/debian.sources | awk 'BEGIN{RS="";ORS="\n\n"} NR==1' > $W/apt/sources.d/backports.sources
cp /etc/apt/sources.list.d/debian.sources $W/apt/sources.d/
cat > $W/apt/apt.conf <<CONF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$W/apt/sources.d";
Dir::State::Lists "$W/apt/lists";
Dir::Cache "$W/apt/cache";
CONF
export APT_CONFIG=$W/apt/apt.conf DEBIAN_FRONTEND=noninteractive
apt-get update -q
PKGS="qemu-system-x86 qemu-utils busybox-static cpio fido2-tools kmod bc"
# A cleanup hook here can delete downloaded .debs between dpkg runs: retry once.
apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends -t bookworm-backports $PKGS \
  || apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends -t bookworm-backports $PKGS
# 2) Guest kernel: download + extract the Debian kernel .deb only (6.1.0-56-amd64, modules uncompressed)
mkdir -p debs kernel; (cd debs && apt-get download linux-image-6.1.0-56-amd64)
dpkg-deb -x debs/linux-image-6.1.0-56-amd64_*.deb kernel
depmod -b kernel 6.1.0-56-amd64            # optional, only to read modules.dep
# uncompressed vmlinux (xz payload of bzImage) -> qemu boots it via the PVH ELF note
python3 -c "
import lzma; d=open('kernel/boot/vmlinuz-6.1.0-56-amd64','rb').read()
open('kernel/vmlinux','wb').write(lzma.LZMADecompressor().decompress(d[d.find(b'\xfd7zXZ\x00'):]))"
# 3) initramfs (busybox-static + 13 modules + init)
./build-initramfs.sh $W/kernel $W/initramfs.cpio.gz
