//! The web view the desktop window needs: WebKitGTK 4.1 on Linux (the
//! shared library the dynamic linker would load), WebView2 on Windows,
//! WKWebView on macOS (part of the OS). The CLI does not need it, so a
//! missing one is a warning.

use super::{Check, Status};

/// The library the desktop app links.
pub const WEBKIT_LIBRARY: &str = "libwebkit2gtk-4.1.so.0";

/// Whether the desktop window's web view is installed.
pub fn check() -> Check {
    let title = "web view for the desktop window";
    if cfg!(target_os = "linux") {
        match find_library(WEBKIT_LIBRARY) {
            Some(at) => Check::new("webview", title, Status::Ok)
                .saw(format!("WebKitGTK 4.1: {WEBKIT_LIBRARY} at {at}")),
            None => Check::new("webview", title, Status::Warn)
                .saw(format!("{WEBKIT_LIBRARY} is not known to the dynamic linker (ldconfig -p) nor in the usual library directories"))
                .fix("sudo apt install libwebkit2gtk-4.1-0 (Fedora: sudo dnf install webkit2gtk4.1); the CLI works without it"),
        }
    } else if cfg!(target_os = "macos") {
        Check::new("webview", title, Status::Ok).saw("WKWebView is part of macOS")
    } else if cfg!(target_os = "windows") {
        Check::new("webview", title, Status::Skip)
            .saw("WebView2 is not checked by this build; Windows 11 ships it")
            .fix("if the window stays blank, install the Evergreen WebView2 Runtime from https://developer.microsoft.com/microsoft-edge/webview2/")
    } else {
        Check::new("webview", title, Status::Skip).saw("no desktop web view on this system")
    }
}

/// Where the dynamic linker finds `name`: its cache first, then the usual
/// directories.
fn find_library(name: &str) -> Option<String> {
    for ldconfig in ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"] {
        if let Ok(out) = std::process::Command::new(ldconfig).arg("-p").output()
            && out.status.success()
        {
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(line) = text.lines().find(|l| l.trim_start().starts_with(name)) {
                return Some(line.rsplit("=> ").next().unwrap_or(line).trim().to_owned());
            }
            break;
        }
    }
    let dirs = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ];
    dirs.iter()
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.exists())
        .map(|p| p.display().to_string())
}
