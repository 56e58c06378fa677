//! The desktop app end to end, through its real window: tauri-driver and
//! WebKitWebDriver under Xvfb, inside a private D-Bus session with a real,
//! unlocked gnome-keyring (../shared/reference/setup-notes.md). Starts the
//! app, starts a virtual key from the Keys page, registers and authenticates
//! an ML-DSA-65 credential with the page's buttons, probes the key (the
//! key lab's checks, live), writes a large blob from the large-blob viewer
//! (after its PIN dialog) and reads it back decrypted, watches a bound
//! challenge appear and then be consumed on the live dashboard, runs the
//! key lab's comparison on the Compare page and saves its report, shows the
//! System page's checks (the keyring found holding the key), checks the
//! session and the secret-key source "OS keyring", enrols a finger on a
//! virtual fingerprint sensor, takes screenshots into
//! docs/screenshots/desktop-*.png, and prints start-up and memory figures.
//!
//! It needs a display server, WebKitGTK and tauri-driver, and takes about a
//! minute, so it runs only with `KEYBENCH_DESKTOP_E2E=1`, which scripts/test
//! sets unless told `KEYBENCH_DESKTOP_E2E=0`
//! (`KEYBENCH_DESKTOP_E2E=1 cargo test -p keybench-tests --test desktop_e2e -- --nocapture`);
//! otherwise it prints that it was skipped and passes. Prerequisites (Debian):
//! `xvfb xauth dbus dbus-x11 gnome-keyring webkit2gtk-driver`, and
//! `cargo install tauri-driver --version ^2 --locked`; scripts/test sets
//! them up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_tests::workspace_root;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app binary, built now (a no-op when it is up to date).
fn app_binary() -> PathBuf {
    if let Ok(p) = std::env::var("KEYBENCH_DESKTOP_BIN") {
        return PathBuf::from(p);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "keybench-desktop"])
        .current_dir(workspace_root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p keybench-desktop failed");
    // tests run from target/debug/deps/desktop_e2e-HASH
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .unwrap()
        .join("keybench-desktop")
}

/// Xvfb + dbus-run-session + unlocked gnome-keyring + tauri-driver, in one
/// process group (stopped with SIGTERM so WebKitWebDriver is not orphaned).
struct Driver {
    child: Child,
    port: u16,
    _home: tempfile::TempDir,
}

impl Driver {
    fn start(home: tempfile::TempDir) -> Driver {
        let port = free_port();
        let native = free_port();
        let script = format!(
            "echo -n keybench-e2e | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null; \
             exec tauri-driver --port {port} --native-port {native}"
        );
        let child = Command::new("xvfb-run")
            .args([
                "-a",
                "-s",
                "-screen 0 1280x800x24",
                "dbus-run-session",
                "--",
                "sh",
                "-c",
            ])
            .arg(script)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("share"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("KEYBENCH_DATA_DIR", home.path().join("keybench"))
            .env_remove("KEYBENCH_SECRET_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("xvfb-run (Debian xvfb) is needed");
        let driver = Driver {
            child,
            port,
            _home: home,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A minimal W3C WebDriver client (the few calls this test makes).
struct Session {
    http: reqwest::blocking::Client,
    base: String,
}

impl Session {
    fn new(driver: &Driver, app: &Path) -> (Session, Duration) {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{}", driver.port);
        let started = Instant::now();
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "wry",
                "tauri:options": {"application": app},
            }}}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        (
            Session {
                http,
                base: format!("{base}/session/{id}"),
            },
            started.elapsed(),
        )
    }

    fn exec(&self, script: &str, args: Value) -> Value {
        let r: Value = self
            .http
            .post(format!("{}/execute/sync", self.base))
            .json(&json!({"script": script, "args": args}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if r["value"].get("error").is_some() {
            panic!("script failed: {r}\n{script}");
        }
        r["value"].clone()
    }

    /// Runs an async script: its last argument is the callback.
    fn exec_async(&self, script: &str, args: Value) -> Value {
        let r: Value = self
            .http
            .post(format!("{}/execute/async", self.base))
            .json(&json!({"script": script, "args": args}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if r["value"].get("error").is_some() {
            panic!("async script failed: {r}\n{script}");
        }
        r["value"].clone()
    }

    /// Polls `condition` (a JS expression) until it is truthy.
    fn wait(&self, what: &str, condition: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.exec(&format!("return ({condition});"), json!([]));
            if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) {
                return v;
            }
            if Instant::now() > deadline {
                let text = self.exec("return document.body.innerText", json!([]));
                panic!("timed out waiting for {what}; the page says:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn click(&self, selector: &str) {
        self.wait(
            &format!("{selector} to be clickable"),
            &format!("(() => {{ const e = document.querySelector({selector:?}); return e && !e.disabled; }})()"),
        );
        self.exec(
            "document.querySelector(arguments[0]).click(); return true;",
            json!([selector]),
        );
    }

    fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let r: Value = self
            .http
            .get(format!("{}/screenshot", self.base))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["value"].as_str().unwrap())
            .unwrap();
        assert_eq!(png.get(1..4), Some(&b"PNG"[..]));
        // KEYBENCH_SCREENSHOTS="" (scripts/test) checks them without
        // rewriting the committed ones.
        if std::env::var_os("KEYBENCH_SCREENSHOTS").is_some_and(|v| v.is_empty()) {
            return;
        }
        let dir = workspace_root().join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("desktop-{name}.png")), png).unwrap();
    }

    fn close(&self) {
        let _ = self.http.delete(&self.base).send();
    }
}

/// Resident memory (KiB) of the app and its WebKit processes.
fn rss_kib(app: &Path) -> Option<(u64, u64)> {
    let mut procs = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
            .unwrap_or(0u64);
        procs.push((pid, ppid, exe, rss));
    }
    let main = procs
        .iter()
        .find(|(_, _, exe, _)| exe.as_deref() == Some(app))?;
    let children: u64 = procs
        .iter()
        .filter(|(_, ppid, _, _)| *ppid == main.0)
        .map(|p| p.3)
        .sum();
    Some((main.3, children))
}

#[test]
fn desktop_app_end_to_end() {
    if std::env::var("KEYBENCH_DESKTOP_E2E").as_deref() != Ok("1") {
        eprintln!(
            "skipped: the desktop end-to-end test runs only with KEYBENCH_DESKTOP_E2E=1 \
             (needs Xvfb, WebKitGTK, gnome-keyring and tauri-driver)"
        );
        return;
    }
    let app = app_binary();
    let size = std::fs::metadata(&app).unwrap().len();
    let driver = Driver::start(tempfile::tempdir().unwrap());
    let (s, session_time) = Session::new(&driver, &app);

    // Interactive: the UI booted inside the Tauri window (the Keys link
    // appears only when window.__TAURI__ exists) and the server answered.
    let t0 = Instant::now();
    s.wait(
        "the desktop UI",
        "window.__TAURI__ && document.getElementById('nav-keys') && !document.getElementById('nav-keys').hidden && document.getElementById('who') && document.getElementById('who').textContent.length > 0",
    );
    let interactive = session_time + t0.elapsed();
    // The window opens on the Keys page (its web view has no WebAuthn for
    // the Register page).
    let opened = s.wait(
        "the Keys page as the first page",
        "location.hash === '#/keys' && !!document.getElementById('vk-start') && location.hash",
    );
    assert_eq!(opened, "#/keys");
    eprintln!(
        "start: WebDriver session (app launched, window created) {session_time:?}; interactive window {interactive:?}"
    );
    std::thread::sleep(Duration::from_secs(5));
    let idle = rss_kib(&app.canonicalize().unwrap());
    eprintln!("idle RSS (KiB): app process, WebKit child processes: {idle:?}");
    eprintln!("binary size: {size} bytes");

    // The Register page in this window: where the web view has no WebAuthn
    // (WebKitGTK), the page says so and points to the Keys page.
    s.exec("location.hash = '#/register'; return true;", json!([]));
    let notice = s.wait(
        "the register page's WebAuthn notice",
        "(() => { if (typeof window.PublicKeyCredential === 'function') return 'webauthn available'; const t = document.body.innerText; return t.includes('no browser WebAuthn') && t.includes('Run the ceremony from the Keys page') && t.slice(0, 400); })()",
    );
    eprintln!("register page in the window: {notice}");

    // The Keys page: start an ML-DSA-65 virtual key.
    s.exec("location.hash = '#/keys'; return true;", json!([]));
    s.wait("the keys page", "document.getElementById('vk-start')");
    s.exec(
        "for (const c of document.querySelectorAll('input[name=\"vk-alg\"]')) c.checked = c.value === 'ML-DSA-65'; return true;",
        json!([]),
    );
    s.click("#vk-start");
    let key = s.wait(
        "the virtual key in the list",
        "(document.querySelector('#key-list tr[data-key-id^=\"udp:\"]') || {}).dataset?.keyId",
    );
    eprintln!("virtual key started from the UI: {key}");

    // getInfo through the panel.
    s.click("#key-info");
    let info = s.wait(
        "getInfo",
        "(document.getElementById('key-info-out') || {}).innerText",
    );
    assert!(info.as_str().unwrap().contains("ML-DSA-65"), "{info}");

    // Register an ML-DSA-65 credential with the page's button.
    s.exec(
        "document.getElementById('cer-username').value = 'e2e-alice'; document.getElementById('cer-alg').value = '-49'; return true;",
        json!([]),
    );
    s.click("#cer-register");
    let result = s.wait(
        "the registration result",
        "(() => { const t = document.getElementById('cer-result').innerText; return /Registered e2e-alice|Error|failed/i.test(t) && t; })()",
    );
    eprintln!("registration: {result}");
    let result = result.as_str().unwrap();
    assert!(result.contains("Registered e2e-alice"), "{result}");
    assert!(result.contains("ML-DSA-65"), "{result}");
    let traffic = s.exec(
        "return document.getElementById('traffic').innerText",
        json!([]),
    );
    assert!(
        traffic
            .as_str()
            .unwrap()
            .contains("authenticatorMakeCredential"),
        "the traffic view shows the decoded request"
    );
    s.screenshot("keys");

    // Authenticate with the page's button.
    s.click("#cer-authenticate");
    let result = s.wait(
        "the authentication result",
        "(() => { const t = document.getElementById('cer-result').innerText; return /Signed in as e2e-alice|Error|failed/i.test(t) && t; })()",
    );
    eprintln!("authentication: {result}");
    assert!(result.as_str().unwrap().contains("Signed in as e2e-alice"));

    // Probe the key from the page: every check shows up live, then the summary.
    s.click("#probe-start");
    let summary = s.wait(
        "the probe's summary",
        "(() => { const t = (document.getElementById('probe-result') || {}).innerText || ''; return /passed|failed|Error/i.test(t) && t; })()",
    );
    eprintln!("probe: {summary}");
    assert!(
        summary
            .as_str()
            .unwrap()
            .contains("Every check that could run passed"),
        "{summary}"
    );
    let rows = s.exec(
        "return document.querySelectorAll('#probe-rows tr').length",
        json!([]),
    );
    assert!(rows.as_u64().unwrap() >= 40, "{rows} checks listed");
    s.exec(
        "document.getElementById('probe-result').closest('section').scrollIntoView(); return true;",
        json!([]),
    );
    s.screenshot("probe");

    // The dashboard, live: a new challenge appears bound to this session,
    // then is consumed when the ceremony completes.
    s.exec("location.hash = '#/dashboard'; return true;", json!([]));
    s.wait(
        "the dashboard with its data",
        "document.querySelectorAll('tr[data-state=\"consumed\"]').length >= 2",
    );
    let key_text = s.wait(
        "the secret-key source",
        "(() => { const t = document.body.innerText; return t.includes('OS keyring') && t; })()",
    );
    assert!(key_text.as_str().unwrap().contains("OS keyring"));
    let sessions = s.exec("return document.body.innerText", json!([]));
    assert!(
        sessions.as_str().unwrap().contains("e2e-alice"),
        "the signed-in session is listed"
    );
    let options = s.exec_async(
        "const done = arguments[arguments.length - 1];
         fetch('/api/authenticate/begin', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({username: 'e2e-alice'})})
           .then(r => r.json()).then(done, e => done({error: String(e)}));",
        json!([]),
    );
    assert!(options["publicKey"]["challenge"].is_string(), "{options}");
    s.wait(
        "the new challenge, issued, on the live dashboard",
        "document.querySelectorAll('tr[data-state=\"issued\"]').length === 1",
    );
    s.screenshot("dashboard-issued");
    let done = s.exec_async(
        "const [key, options, done] = arguments;
         window.__TAURI__.core.invoke('ceremony_authenticate', {key, options: options.publicKey, pin: null})
           .then(cred => fetch('/api/authenticate/complete', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(cred)}))
           .then(r => r.json()).then(done, e => done({error: e.message || JSON.stringify(e)}));",
        json!([key, options]),
    );
    assert_eq!(done["status"], "ok", "{done}");
    s.wait(
        "the challenge consumed on the live dashboard",
        "document.querySelectorAll('tr[data-state=\"issued\"]').length === 0 && document.querySelectorAll('tr[data-state=\"consumed\"]').length >= 3",
    );
    s.screenshot("dashboard");
    eprintln!(
        "dashboard: challenge issued then consumed, key source OS keyring, session of e2e-alice"
    );

    // The large-blob viewer: a virtual key with a PIN and two credentials
    // made with the largeBlob extension; the page asks for the PIN in its
    // dialog, a text blob and a binary one (as hex) are written from the
    // viewer, and both are shown decrypted from the key.
    let made = s.exec_async(
        "const done = arguments[arguments.length - 1];
         const invoke = window.__TAURI__.core.invoke;
         (async () => {
           const k = await invoke('virtual_key_start', {algorithms: ['ML-DSA-65'], presence: 'approve'});
           await invoke('pin_set', {key: k.id, newPin: '246810'});
           const ids = [];
           for (const username of ['e2e-blob', 'e2e-bin']) {
             const r = await fetch('/api/advanced/register/begin', {method: 'POST', headers: {'Content-Type': 'application/json'},
               body: JSON.stringify({username, algorithms: [-49], residentKey: 'required', extensions: {largeBlob: {support: 'required'}}})});
             const options = (await r.json()).publicKey;
             const cred = await invoke('ceremony_register', {key: k.id, options, pin: '246810'});
             if (!cred.clientExtensionResults.largeBlob.supported) throw new Error('no largeBlob support');
             ids.push(cred.id);
           }
           return {key: k.id, ids};
         })().then(done, e => done({error: e.message || JSON.stringify(e)}));",
        json!([]),
    );
    let blob_key = &made["key"];
    assert!(blob_key.is_string(), "{made}");
    s.exec("location.hash = '#/keys'; return true;", json!([]));
    let radio = format!("#key-list tr[data-key-id={blob_key}] input[type=radio]");
    s.click(&radio);
    s.click("#key-large-blobs");
    s.wait("the PIN dialog", "document.getElementById('pin-input')");
    s.exec(
        "document.getElementById('pin-input').value = '246810'; return true;",
        json!([]),
    );
    s.click("#pin-ok");
    s.wait(
        "the large-blob viewer",
        "document.querySelectorAll('#lb-view tr[data-credential-id]').length === 2",
    );
    let note = "Recovery note for e2e-blob: kept on the key, encrypted with this credential's largeBlobKey";
    let write = |credential: &Value, data: &str, hex: bool| {
        s.exec(
            "document.getElementById('lb-cred').value = arguments[0]; document.getElementById('lb-data').value = arguments[1]; document.getElementById('lb-hex').checked = arguments[2]; return true;",
            json!([credential, data, hex]),
        );
        s.click("#lb-write");
    };
    write(&made["ids"][0], note, false);
    let shown = s.wait(
        "the written blob, read back and decrypted",
        "(() => { const t = document.querySelector('#lb-view .lb-text'); return t && t.textContent; })()",
    );
    assert_eq!(shown, note);
    write(&made["ids"][1], "00 ff 10 80 c3 28", true);
    let hex = s.wait(
        "the binary blob, shown as hex",
        "(() => { const t = document.querySelector('#lb-view .lb-hex'); return t && t.textContent; })()",
    );
    assert_eq!(hex, "00ff1080c328");
    let view = s.exec(
        "return document.getElementById('lb-view').innerText",
        json!([]),
    );
    let view = view.as_str().unwrap();
    assert!(
        view.contains("e2e-blob")
            && view.contains(&format!("{} bytes", note.len()))
            && view.contains("6 bytes · hex (not UTF-8)"),
        "{view}"
    );
    s.exec(
        "document.getElementById('lb-card').scrollIntoView(); window.scrollBy(0, -56); return true;",
        json!([]),
    );
    s.screenshot("large-blobs");
    eprintln!(
        "large-blob viewer: {} bytes of text and 6 bytes shown as hex, decrypted from the key",
        note.len()
    );

    // Fingerprints: a virtual key with a fingerprint sensor and presence
    // "ask"; a finger enrolled from the Keys page's Fingerprints card, each
    // sample asked for in the presence prompt ("Touch with finger 1").
    let fp_key = s.exec_async(
        "const done = arguments[arguments.length - 1];
         const invoke = window.__TAURI__.core.invoke;
         (async () => {
           const k = await invoke('virtual_key_start', {algorithms: ['ML-DSA-65'], presence: 'ask', fingerprint: true});
           await invoke('pin_set', {key: k.id, newPin: '135790'});
           return k.id;
         })().then(done, e => done({error: e.message || JSON.stringify(e)}));",
        json!([]),
    );
    assert!(fp_key.is_string(), "{fp_key}");
    s.exec("location.hash = '#/keys'; return true;", json!([]));
    s.click(&format!(
        "#key-list tr[data-key-id={fp_key}] input[type=radio]"
    ));
    s.wait("the Fingerprints card", "document.getElementById('fp-pin')");
    s.exec(
        "document.getElementById('fp-pin').value = '135790'; document.getElementById('fp-name').value = 'right thumb'; return true;",
        json!([]),
    );
    s.click("#fp-enroll");
    let asked = s.wait(
        "the fingerprint prompt",
        "(() => { const f = document.getElementById('presence-finger'); return f && f.textContent; })()",
    );
    assert!(
        asked.as_str().unwrap_or_default().contains("finger 1"),
        "{asked}"
    );
    s.exec(
        "document.getElementById('presence-finger').scrollIntoView({block: 'center'}); return true;",
        json!([]),
    );
    s.screenshot("fingerprint");
    // Each sample is one touch with the finger, until the key says enrolled.
    let mut touches = 0;
    loop {
        let next = s.wait(
            "the next sample's prompt or the enrolled finger",
            "(() => { if (document.querySelector('#fp-list tr[data-template-id]')) return 'enrolled'; return document.getElementById('presence-touch') ? 'touch' : null; })()",
        );
        if next == json!("enrolled") {
            break;
        }
        assert!(touches < 8, "more samples than the sensor asks for");
        s.click("#presence-touch");
        touches += 1;
    }
    let fingers = s.exec(
        "return document.getElementById('fp-list').innerText",
        json!([]),
    );
    assert!(
        fingers.as_str().unwrap_or_default().contains("right thumb"),
        "{fingers}"
    );
    eprintln!("fingerprint dialog: finger enrolled with {touches} touches, named right thumb");

    // The Compare page: the key lab's comparison on a virtual key with all
    // five algorithms, its charts drawn in the window, the report saved.
    let lab_key = s.exec_async(
        "const done = arguments[arguments.length - 1];
         window.__TAURI__.core.invoke('virtual_key_start', {algorithms: ['ML-DSA-87', 'ML-DSA-65', 'ML-DSA-44', 'EdDSA', 'ES256'], presence: 'approve'})
           .then(k => done(k.id), e => done({error: String(e)}));",
        json!([]),
    );
    assert!(lab_key.is_string(), "{lab_key}");
    s.exec("location.hash = '#/compare'; return true;", json!([]));
    s.wait("the compare page", "document.getElementById('cmp-run')");
    s.exec(
        "document.getElementById('cmp-key').value = arguments[0]; document.getElementById('cmp-rounds').value = '3'; return true;",
        json!([lab_key]),
    );
    s.click("#cmp-run");
    let charts = s.wait(
        "the comparison's charts",
        "(() => { const t = document.getElementById('cmp-result').innerText; if (/Error|failed/.test(t)) return t; return document.querySelectorAll('#cmp-result svg.chart').length; })()",
    );
    assert_eq!(charts, json!(6), "{charts}");
    let figures = s.exec(
        "return document.getElementById('cmp-result').innerText",
        json!([]),
    );
    for alg in ["ML-DSA-87", "ML-DSA-65", "ML-DSA-44", "EdDSA", "ES256"] {
        assert!(
            figures.as_str().unwrap().contains(alg),
            "{alg} in {figures}"
        );
    }
    s.exec(
        "document.querySelector('#cmp-result svg.chart').scrollIntoView(); return true;",
        json!([]),
    );
    s.screenshot("compare");
    let saved_to = s.exec(
        "return document.getElementById('cmp-path').value",
        json!([]),
    );
    s.click("#cmp-save");
    let saved = s.wait(
        "the report saved",
        "(() => { const t = (document.getElementById('cmp-export') || {}).innerText || ''; return /Saved|Error/.test(t) && t; })()",
    );
    assert!(saved.as_str().unwrap().starts_with("Saved"), "{saved}");
    let page = std::fs::read_to_string(saved_to.as_str().unwrap()).unwrap();
    assert!(page.contains("<svg") && page.contains("ML-DSA-87"));
    eprintln!("compare: six charts in the window, report saved to {saved_to}");

    // The System page: `keybench doctor`'s checks for this app; the keyring
    // is the session's gnome-keyring, holding the key the app stored there.
    s.exec("location.hash = '#/system'; return true;", json!([]));
    let keyring = s.wait(
        "the system checks",
        "(() => { const r = document.querySelector('#system-checks tr[data-check=\"keyring\"]'); return r && r.innerText; })()",
    );
    let keyring = keyring.as_str().unwrap();
    assert!(
        keyring.contains("Secret Service") && keyring.contains("holds the session key"),
        "{keyring}"
    );
    let port = s.exec(
        "return document.querySelector('#system-checks tr[data-check=\"port\"]').innerText",
        json!([]),
    );
    assert!(
        port.as_str()
            .unwrap()
            .contains("this app serves on 127.0.0.1:"),
        "{port}"
    );
    s.screenshot("system");

    // The command surface. The page's CSP (from the server) refuses inline
    // script in the window too.
    let inline_ran = s.exec(
        "const el = document.createElement('script'); el.textContent = 'window.__inlineRan = true'; document.head.appendChild(el); return window.__inlineRan === true;",
        json!([]),
    );
    assert_eq!(inline_ran, false, "an inline script ran in the window");
    // A page on another local port, which would call a command as soon as
    // it loaded, never loads: the window stays on its own origin and the
    // other server sees no request.
    let foreign = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let foreign_port = foreign.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let hits = hits.clone();
        std::thread::spawn(move || {
            for stream in foreign.incoming() {
                let Ok(mut stream) = stream else { return };
                hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = "<!doctype html><script>window.__TAURI__ && window.__TAURI__.core.invoke('keys_list').then(k => document.title = 'INVOKED ' + JSON.stringify(k), e => document.title = 'REFUSED ' + e)</script>";
                let _ = std::io::Write::write_all(
                    &mut stream,
                    format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes(),
                );
            }
        });
    }
    let own_origin = s.exec("return location.origin", json!([]));
    s.exec(
        &format!("location.href = 'http://localhost:{foreign_port}/'; return true;"),
        json!([]),
    );
    std::thread::sleep(Duration::from_secs(2));
    let origin_now = s.exec("return location.origin", json!([]));
    let title = s.exec("return document.title", json!([]));
    eprintln!(
        "navigation to another local port: window at {origin_now}, title {title}, requests there: {}",
        hits.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert_eq!(origin_now, own_origin, "the window left its origin");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(!title.as_str().unwrap_or("").starts_with("INVOKED"));
    // The app's own page still has its commands.
    let listed = s.exec_async(
        "const done = arguments[arguments.length - 1];
         window.__TAURI__.core.invoke('keys_list').then(done, e => done({error: String(e)}));",
        json!([]),
    );
    assert!(listed.is_array(), "{listed}");
    s.close();
}
