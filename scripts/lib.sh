# Shared by scripts/start and scripts/test: platform checks, Debian packages,
# the build cache. Sourced, not run.

set -euo pipefail

KEYBENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The build cache lives outside the clone so that repeated runs (and CI runs on
# the same machine) reuse it; a fresh machine simply starts it empty.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${KEYBENCH_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keybench/target}}

say() { printf 'keybench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Explains what to install on platforms these scripts do not set up, then exits.
unsupported_platform() {
    local what=$1 debian_pkgs=$2
    case "$(uname -s)" in
        Darwin)
            die "macOS is not set up automatically. Install: the Rust toolchain (https://rustup.rs), Xcode command line tools (xcode-select --install) and pkg-config (brew install pkg-config); then run: cargo $what" ;;
        MINGW*|MSYS*|CYGWIN*|Windows_NT)
            die "Windows is not set up automatically. Install: the Rust toolchain with the MSVC build tools (https://rustup.rs, 'Desktop development with C++'), and WebView2 (preinstalled on Windows 11); then run: cargo $what" ;;
        Linux)
            die "this Linux is not Debian/Ubuntu, so nothing was installed. Install the equivalents of these Debian packages with your package manager: $debian_pkgs; then run: cargo $what" ;;
        *)
            die "$(uname -s) is not supported. Keybench needs the Rust toolchain and a C toolchain with pkg-config." ;;
    esac
}

is_debian_like() {
    [ -r /etc/os-release ] || return 1
    # shellcheck disable=SC1091
    . /etc/os-release
    case " ${ID:-} ${ID_LIKE:-} " in *" debian "*|*" ubuntu "*) return 0 ;; esac
    return 1
}

# ensure_debian_packages PKG... : installs the missing ones through apt-get,
# retrying once (a failed fetch or a cleanup hook can break the first try).
ensure_debian_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; }; then
        say "apt-get failed once; retrying"
        $sudo apt-get update -q
        $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" \
            || die "could not install: ${missing[*]} (see apt-get's message above)"
    fi
}

require_rust() {
    command -v cargo >/dev/null || die "cargo is missing: install the Rust toolchain from https://rustup.rs and run this again"
}

# Debian packages every build needs (a C compiler for aws-lc-sys and
# PQClean's ML-DSA; pcsc-lite's headers and library for the PC/SC reader
# support of the client).
BUILD_PACKAGES=(build-essential pkg-config libpcsclite-dev)
# Debian packages the desktop app (src-tauri, a workspace member, so part of
# a plain `cargo build`) needs: WebKitGTK 4.1 and what Tauri links against.
DESKTOP_PACKAGES=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev)
# Debian packages the test suite needs besides (python-fido2 runs in a venv):
# gnome-keyring and dbus give the session engine's keyring test a real Secret
# Service inside dbus-run-session; chromium runs the browser tests (Node and
# npm too: scripts/test installs Debian's when no node/npm is on the PATH, as
# a NodeSource nodejs bundles npm and conflicts with Debian's npm package).
# The desktop end-to-end test (on by default in scripts/test) also uses Xvfb,
# dbus-x11, WebKitWebDriver and ImageMagick; they are small next to WebKitGTK,
# so they are always set up. pcscd and vsmartcard-vpcd (a virtual reader
# driver) let the NFC tests run a private PC/SC service with the virtual key
# as a contactless card; swig builds pyscard (python-fido2's PC/SC transport)
# where no wheel fits. rpm gives `rpm -qlp`, which the package test lists the
# .rpm with (the .rpm itself is made without it).
TEST_PACKAGES=(python3 python3-venv gnome-keyring dbus chromium xvfb xauth dbus-x11 webkit2gtk-driver imagemagick pcscd vsmartcard-vpcd swig rpm)

# setup_platform "cargo args for the help text" PKG... : checks the platform
# and installs the listed Debian packages where it can.
setup_platform() {
    local what=$1; shift
    require_rust
    if [ "$(uname -s)" = Linux ] && is_debian_like && command -v apt-get >/dev/null; then
        ensure_debian_packages "$@"
    else
        unsupported_platform "$what" "$*"
    fi
}
