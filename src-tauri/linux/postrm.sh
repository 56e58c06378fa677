#!/bin/sh
# Keybench package: after removal (deb postrm, rpm %postun), make udev
# forget the FIDO key rule the package took away. The package leaves
# nothing else behind on the system (each user's Keybench data directory
# is theirs to keep). Never fails the removal: without a
# running udev there is nothing to reload.
set -e

if [ -z "${DPKG_ROOT:-}" ] && command -v udevadm >/dev/null 2>&1; then
    udevadm control --reload-rules 2>/dev/null || true
fi
exit 0
