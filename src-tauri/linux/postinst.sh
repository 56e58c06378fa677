#!/bin/sh
# Keybench package: after install or upgrade (deb postinst, rpm %post), make
# udev read the FIDO key rule the package just installed
# (/usr/lib/udev/rules.d/70-keybench-fido.rules) and apply it to the hidraw
# devices already plugged in. Never fails the install: without a running
# udev (a chroot, a container, an image being built) the rule applies when
# udev next starts.
set -e

if [ -n "${DPKG_ROOT:-}" ]; then
    # dpkg --root / --instdir: the files went into another system's tree,
    # whose udev is not this machine's.
    echo "keybench: installed into $DPKG_ROOT; its udev reads the FIDO key rule when that system starts"
elif ! command -v udevadm >/dev/null 2>&1; then
    echo "keybench: udevadm not found; the FIDO key rule applies once udev is installed and started"
elif udevadm control --reload-rules 2>/dev/null; then
    udevadm trigger --subsystem-match=hidraw 2>/dev/null || true
    echo "keybench: udev rules reloaded and applied to the hidraw devices plugged in"
else
    echo "keybench: udev is not running (a chroot or a container?); the FIDO key rule applies when it starts"
fi
exit 0
