//! The Keybench desktop app: a thin Tauri 2 shell over the local relying
//! party. It starts `keybench-server` in-process on a random loopback port
//! with a per-launch secret (the session secret key comes from the OS
//! keyring, the server's default) and opens a window on the returned URL:
//! the same web UI a browser shows, plus the Keys page, which only the
//! desktop window has.
//!
//! Modules: [`keys`] (the keys panel's operations, below Tauri),
//! [`fingerprints`] (its fingerprint operations), [`lab`]
//! (the key lab's comparison and report export, below Tauri),
//! [`virtual_key`] (virtual keys served over loopback UDP), [`platform`]
//! (display detection, data and log places, USB access per OS), [`system`]
//! (the System page's checks, as `keybench doctor`), [`error`] (the
//! `{code, message}` error), `shell` (Tauri: command registration, events,
//! the window).
//!
//! With no display (Linux without `DISPLAY`/`WAYLAND_DISPLAY`) it says so
//! and runs as `keybench serve` does.

#![forbid(unsafe_code)]

pub mod error;
pub mod fingerprints;
pub mod keys;
pub mod lab;
pub mod platform;
mod shell;
pub mod system;
pub mod virtual_key;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// The server settings for this launch: loopback, a random port (or
/// `KEYBENCH_LISTEN`), data under [`platform::default_data_dir`].
pub fn server_config() -> Result<keybench_server::ServerConfig, String> {
    let listen: SocketAddr = match std::env::var("KEYBENCH_LISTEN") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("KEYBENCH_LISTEN={s:?} is not an address like 127.0.0.1:8765"))?,
        Err(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    Ok(keybench_server::ServerConfig::local(
        listen,
        platform::default_data_dir(),
    ))
}

/// The app's `main`.
pub fn run() -> ExitCode {
    let config = match server_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keybench-desktop: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The window's app logs to its file (no terminal to read); headless it
    // logs to standard error, as `keybench serve` does. `RUST_LOG` filters
    // both; `KEYBENCH_LOG_FORMAT=json` gives JSON lines.
    let windowed = platform::display_available();
    let log = keybench_server::logging::LogSettings {
        format: if std::env::var("KEYBENCH_LOG_FORMAT").is_ok_and(|f| f == "json") {
            keybench_server::logging::LogFormat::Json
        } else {
            keybench_server::logging::LogFormat::Pretty
        },
        filter: None,
        file: windowed.then(platform::log_file),
    };
    if let Err(e) = keybench_server::logging::init(&log, "info") {
        eprintln!("keybench-desktop: {e}");
    }
    let result = if windowed {
        run_desktop(config)
    } else {
        eprintln!(
            "keybench-desktop: no display (DISPLAY and WAYLAND_DISPLAY are unset), so no window: \
             running the server alone, as `keybench serve` does"
        );
        run_headless(config)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keybench-desktop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_desktop(config: keybench_server::ServerConfig) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    // The server runs on Tauri's own tokio runtime.
    let running = tauri::async_runtime::block_on(keybench_server::start(config))?;
    let origin = format!("http://localhost:{}", running.addr.port());
    eprintln!("keybench-desktop: server on {origin}");
    let url = running.url.clone();
    let notify = Arc::new(shell::TauriNotify::default());
    let keys = keys::Keys::new(origin, data_dir, notify.clone());
    keys.set_metadata_reloader(running.metadata());
    let lab = lab::Lab::new(keys.clone());
    shell::run_window(&url, keys, lab, notify, move || {
        // Requests in flight finish their session writes before exit.
        tauri::async_runtime::block_on(running.shutdown());
    })
}

fn run_headless(config: keybench_server::ServerConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = keybench_server::start(config).await?;
        println!("Keybench is running: open {}", running.url);
        println!("(the address carries this launch's secret for the session-security dashboard)");
        wait_for_stop().await?;
        eprintln!("keybench-desktop: shutting down");
        running.shutdown().await;
        anyhow::Ok(())
    })
}

async fn wait_for_stop() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
