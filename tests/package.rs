//! The Linux packages end to end: the .deb that `scripts/package` makes is
//! inspected (control fields, maintainer scripts, the files it must hold),
//! installed with the real dpkg into a fresh root of its own (`dpkg --root`
//! with an empty database: nothing of this machine's is touched), its
//! binaries are run from there (`keybench --version`, `keybench serve` and
//! the desktop app without a display, both answering HTTP), and it is
//! purged again, leaving nothing behind. The .rpm, when there is one, is
//! listed with `rpm -qlp` and must hold the same files.
//!
//! It runs when `KEYBENCH_PACKAGE_DEB` names the .deb (scripts/test builds
//! it with `scripts/package --debug --prebuilt` from the binaries of its
//! own `cargo test` and sets it, and `KEYBENCH_PACKAGE_RPM` when the rpm
//! tool is there); otherwise it prints that it was skipped and passes.
//! Installing needs root (dpkg sets root ownership on the files).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_tests::process::{output_within, wait_within};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Every dpkg, rpm or binary run here finishes within this, or is killed.
const STEP: Duration = Duration::from_secs(60);

/// The files the packages must hold, besides the desktop entry and icon.
const BINARIES: [&str; 2] = ["/usr/bin/keybench", "/usr/bin/keybench-desktop"];
const UDEV_RULE: &str = "/usr/lib/udev/rules.d/70-keybench-fido.rules";
const DESKTOP_ENTRY: &str = "/usr/share/applications/Keybench.desktop";
const ICON: &str = "/usr/share/icons/hicolor/256x256/apps/keybench-desktop.png";

/// The one source of the rule: the app embeds this file, the packages ship it.
fn rule_source() -> String {
    let path = keybench_tests::workspace_root().join("src-tauri/linux/70-keybench-fido.rules");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a command to success within [`STEP`]; its standard output.
fn run(command: &mut Command) -> String {
    let out = output_within(command, STEP).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A control field of the .deb.
fn control_field(deb: &Path, field: &str) -> String {
    run(Command::new("dpkg-deb").arg("--field").arg(deb).arg(field))
        .trim()
        .to_owned()
}

/// The package names of a Depends-style list (alternatives and versions dropped).
fn package_names(list: &str) -> Vec<String> {
    list.split([',', '|'])
        .filter_map(|p| p.split_whitespace().next())
        .map(|p| p.split(':').next().unwrap_or(p).to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The shared libraries `binary` links against directly (its NEEDED entries).
fn needed_libraries(binary: &Path) -> Vec<String> {
    run(Command::new("readelf").arg("-d").arg(binary))
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .map(str::to_owned)
        .collect()
}

/// Which installed package of this machine provides each shared library
/// `binary` links against directly.
fn library_packages(binary: &Path) -> Vec<(String, String)> {
    let ldd = run(Command::new("ldd").arg(binary));
    needed_libraries(binary)
        .into_iter()
        .map(|soname| {
            let path = ldd
                .lines()
                .find(|l| l.contains(soname.as_str()))
                // "NAME => /path (addr)", or "/path (addr)" for the loader.
                .map(|l| l.split("=> ").last().unwrap_or(l))
                .and_then(|p| p.split_whitespace().next())
                .filter(|p| p.starts_with('/'))
                .unwrap_or_else(|| {
                    panic!("{soname} of {} is not resolved:\n{ldd}", binary.display())
                });
            // The path dpkg recorded may be the /usr-merged or the /lib one.
            let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path));
            let owner = [PathBuf::from(path), canonical]
                .iter()
                .find_map(|p| {
                    let out = Command::new("dpkg").arg("-S").arg(p).output().ok()?;
                    let text = String::from_utf8_lossy(&out.stdout).into_owned();
                    out.status.success().then_some(text)
                })
                .unwrap_or_else(|| panic!("no package of this machine owns {path} ({soname})"));
            let package = owner
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            (soname, package)
        })
        .collect()
}

/// A private root for dpkg: an empty package database and nothing else.
fn fresh_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let admin = root.join("var/lib/dpkg");
    for sub in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(sub)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::write(admin.join("available"), "").unwrap();
    root
}

/// dpkg on the private root. Maintainer scripts run without chroot (the
/// root holds no shell) with DPKG_ROOT set, as dpkg does for
/// `--force-script-chrootless`; dependencies are this machine's, which the
/// empty database does not know, hence `--force-depends`.
fn dpkg(root: &Path, log: &Path, args: &[&str]) -> String {
    let mut command = Command::new("dpkg");
    command
        .arg(format!("--root={}", root.display()))
        .arg(format!("--log={}", log.display()))
        .args(["--force-script-chrootless", "--force-depends"])
        .args(args);
    let out = output_within(&mut command, STEP).unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{text}",
        out.status
    );
    text
}

/// Every file (not directory) under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Starts a server binary and reads its "Keybench is running: open URL"
/// line; the child and the URL's origin.
fn start_server(command: &mut Command) -> (Child, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let stdout = child.stdout.take().unwrap();
    // The first line is read on a thread, so a server that never prints
    // fails the test at the deadline instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        lines.for_each(drop);
    });
    let line = match rx.recv_timeout(STEP) {
        Ok(Some(Ok(line))) => line,
        other => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{command:?} printed no address ({other:?}); stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let url = line
        .strip_prefix("Keybench is running: open ")
        .unwrap_or_else(|| panic!("start-up said {line:?}"));
    let origin = url
        .split("/#")
        .next()
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_owned();
    (child, origin)
}

/// The page and the session API answer: the installed server serves the UI
/// and its relying party.
fn assert_answers_http(origin: &str, who: &str) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let page = client.get(format!("{origin}/")).send().unwrap();
    assert_eq!(page.status(), 200, "{who}: GET /");
    // The UI embedded at build time, not the stand-in of a build without it.
    let index = keybench_tests::workspace_root().join("ui/index.html");
    assert_eq!(
        page.text().unwrap(),
        std::fs::read_to_string(&index).unwrap(),
        "{who}: GET / is not {}",
        index.display()
    );
    let session: serde_json::Value = client
        .get(format!("{origin}/api/session"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        session["signedIn"], false,
        "{who}: GET /api/session said {session}"
    );
    println!("{who}: {origin} served the UI and /api/session ({session})");
}

/// SIGTERM, then the graceful exit within [`STEP`].
fn stop(mut child: Child, who: &str) {
    run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
    let status =
        wait_within(&mut child, STEP).unwrap_or_else(|| panic!("{who} did not stop on SIGTERM"));
    assert!(status.success(), "{who} exited with {status} on SIGTERM");
}

/// The maintainer scripts outside dpkg, on this machine, where udev is not
/// running: they must say why nothing was reloaded and succeed. Skipped
/// where udev runs, so that the test never reloads this machine's rules.
fn maintainer_scripts_tolerate_no_udev(deb: &Path, dir: &Path) {
    if Path::new("/run/udev/control").exists() {
        println!(
            "udev runs on this machine: its maintainer scripts are checked under dpkg --root only"
        );
        return;
    }
    let control = dir.join("control");
    run(Command::new("dpkg-deb")
        .arg("--control")
        .arg(deb)
        .arg(&control));
    let postinst = output_within(
        Command::new("sh")
            .arg(control.join("postinst"))
            .arg("configure")
            .env_remove("DPKG_ROOT"),
        STEP,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let said = String::from_utf8_lossy(&postinst.stdout);
    assert!(
        postinst.status.success(),
        "postinst without udev: {postinst:?}"
    );
    assert!(
        said.contains("udevadm not found") || said.contains("udev is not running"),
        "postinst without udev said {said:?}"
    );
    println!(
        "postinst on this machine (no udev running): {}",
        said.trim()
    );
    let postrm = output_within(
        Command::new("sh")
            .arg(control.join("postrm"))
            .arg("remove")
            .env_remove("DPKG_ROOT"),
        STEP,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(postrm.status.success(), "postrm without udev: {postrm:?}");
}

/// The .rpm holds the same files, runs the same scripts and requires the
/// libraries the binaries installed from the .deb (under `root`) link.
fn check_rpm(rpm: &Path, root: &Path) {
    let under_root = |p: &str| root.join(p.trim_start_matches('/'));
    let listed = run(Command::new("rpm").arg("-qlp").arg(rpm));
    for file in BINARIES.iter().chain(&[UDEV_RULE, DESKTOP_ENTRY, ICON]) {
        assert!(
            listed.lines().any(|l| l == *file),
            "{} lacks {file}:\n{listed}",
            rpm.display()
        );
    }
    let scripts = run(Command::new("rpm").arg("-qp").arg("--scripts").arg(rpm));
    assert!(
        scripts.contains("postinstall scriptlet")
            && scripts.contains("udevadm control --reload-rules"),
        "{} does not reload udev after install:\n{scripts}",
        rpm.display()
    );
    assert!(
        scripts.contains("postuninstall scriptlet"),
        "{}: no %postun:\n{scripts}",
        rpm.display()
    );
    // Every library the binaries link against is required by its soname,
    // but the C library's own (glibc and libgcc are on every system).
    let requires = run(Command::new("rpm").arg("-qp").arg("--requires").arg(rpm));
    for bin in BINARIES {
        for soname in needed_libraries(&under_root(bin)) {
            if ["libc.so.6", "libm.so.6", "libgcc_s.so.1"].contains(&soname.as_str())
                || soname.starts_with("ld-linux")
            {
                continue;
            }
            assert!(
                requires
                    .lines()
                    .any(|l| l.trim() == format!("{soname}()(64bit)")),
                "{} does not require {soname}, which {bin} links:\n{requires}",
                rpm.display()
            );
        }
    }
    println!(
        "{}: rpm -qlp lists the {} files; requires {}",
        rpm.display(),
        listed.lines().count(),
        requires.split_whitespace().collect::<Vec<_>>().join(" ")
    );
}

#[test]
fn the_deb_installs_runs_and_purges_cleanly_in_a_private_root() {
    let Some(deb) = std::env::var_os("KEYBENCH_PACKAGE_DEB").map(PathBuf::from) else {
        eprintln!(
            "skipped: the package test runs only with KEYBENCH_PACKAGE_DEB=<the .deb> \
             (scripts/test makes it with scripts/package --debug --prebuilt)"
        );
        return;
    };
    assert!(
        is_root(),
        "installing into a private root with dpkg needs root (file ownership)"
    );
    assert!(deb.is_file(), "{} is not there", deb.display());

    // The control fields.
    assert_eq!(control_field(&deb, "Package"), "keybench");
    assert_eq!(control_field(&deb, "Version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(control_field(&deb, "Architecture"), "amd64");
    let depends = control_field(&deb, "Depends");
    let declared = package_names(&depends);
    for needed in ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libpcsclite1"] {
        assert!(
            declared.iter().any(|d| d == needed),
            "Depends: {depends} lacks {needed}"
        );
    }
    println!("Depends: {depends}");
    println!("Recommends: {}", control_field(&deb, "Recommends"));

    // The files, and the maintainer scripts.
    let contents = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    for file in BINARIES.iter().chain(&[UDEV_RULE, DESKTOP_ENTRY, ICON]) {
        assert!(
            contents.lines().any(|l| {
                let listed = l.split_whitespace().last().unwrap_or_default();
                listed.trim_start_matches('.').trim_start_matches('/')
                    == file.trim_start_matches('/')
            }),
            "the .deb lacks {file}:\n{contents}"
        );
    }
    let info = run(Command::new("dpkg-deb").arg("--info").arg(&deb));
    for script in ["postinst", "postrm"] {
        assert!(
            info.lines()
                .any(|l| l.contains(script) && l.contains("#!/bin/sh")),
            "no {script}:\n{info}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let root = fresh_root(dir.path());
    let log = dir.path().join("dpkg.log");

    // Install: the files land, the postinst runs (and, installing into
    // another root, leaves this machine's udev alone).
    let installed = dpkg(&root, &log, &["--install", deb.to_str().unwrap()]);
    println!("dpkg --root=ROOT --install:\n{installed}");
    assert!(
        installed.contains("keybench: installed into"),
        "postinst did not run:\n{installed}"
    );
    let status = run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f", "${Status} ${Version}", "keybench"]));
    assert_eq!(
        status,
        format!("install ok installed {}", env!("CARGO_PKG_VERSION"))
    );
    let under_root = |p: &str| root.join(p.trim_start_matches('/'));
    assert_eq!(
        std::fs::read_to_string(under_root(UDEV_RULE)).unwrap(),
        rule_source(),
        "the installed udev rule is the app's own"
    );
    let entry = std::fs::read_to_string(under_root(DESKTOP_ENTRY)).unwrap();
    for line in [
        "Exec=keybench-desktop",
        "Icon=keybench-desktop",
        "Name=Keybench",
    ] {
        assert!(
            entry.lines().any(|l| l == line),
            "the desktop entry lacks {line}:\n{entry}"
        );
    }

    // Every library the binaries link against comes from a package the
    // .deb depends on directly (what dpkg-shlibdeps would have listed).
    for bin in BINARIES {
        for (soname, package) in library_packages(&under_root(bin)) {
            assert!(
                declared.contains(&package),
                "{bin} links {soname} from {package}, which Depends ({depends}) lacks"
            );
        }
    }

    // The installed binaries run.
    let version = run(Command::new(under_root("/usr/bin/keybench")).arg("--version"));
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "keybench --version said {version:?}"
    );
    println!("installed keybench --version: {}", version.trim());
    let data = dir.path().join("data");
    let (serve, origin) = start_server(
        Command::new(under_root("/usr/bin/keybench"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-keyring",
                "--data-dir",
            ])
            .arg(&data),
    );
    assert_answers_http(&origin, "installed keybench serve");
    stop(serve, "keybench serve");
    // Without a display the desktop app runs as `keybench serve` does.
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let (desktop, origin) = start_server(
        Command::new(under_root("/usr/bin/keybench-desktop"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("HOME", &home)
            .env("KEYBENCH_LISTEN", "127.0.0.1:0")
            .env("KEYBENCH_DATA_DIR", dir.path().join("desktop-data")),
    );
    assert_answers_http(&origin, "installed keybench-desktop (no display)");
    stop(desktop, "keybench-desktop");

    maintainer_scripts_tolerate_no_udev(&deb, dir.path());

    // The .rpm, against the binaries just installed (the same ones).
    match std::env::var_os("KEYBENCH_PACKAGE_RPM").map(PathBuf::from) {
        Some(rpm) => check_rpm(&rpm, &root),
        None => println!("no KEYBENCH_PACKAGE_RPM: the .rpm is not checked"),
    }

    // Purge: nothing of the package is left, and its postrm ran cleanly.
    let purged = dpkg(&root, &log, &["--purge", "keybench"]);
    println!("dpkg --root=ROOT --purge keybench:\n{purged}");
    let after = output_within(
        Command::new("dpkg-query")
            .arg(format!(
                "--admindir={}",
                root.join("var/lib/dpkg").display()
            ))
            .args(["-W", "-f", "${Status}", "keybench"]),
        STEP,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let status = String::from_utf8_lossy(&after.stdout);
    assert!(
        !after.status.success() || status.contains("not-installed"),
        "after purge dpkg says {status:?}"
    );
    let left: Vec<String> = files_under(&root)
        .into_iter()
        .filter(|f| !f.starts_with("var/lib/dpkg/"))
        .collect();
    assert!(left.is_empty(), "the purge left {left:?}");
    let dirs_left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "var")
        .collect();
    assert!(
        dirs_left.is_empty(),
        "the purge left directories {dirs_left:?}"
    );
    let admin_left: Vec<String> = files_under(&root.join("var/lib/dpkg/info"))
        .into_iter()
        .filter(|f| f.starts_with("keybench"))
        .collect();
    assert!(admin_left.is_empty(), "dpkg still holds {admin_left:?}");
    println!("purged: no file of the package left in the root");
}
