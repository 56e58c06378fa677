//! The OS keyring the session secret key lives in: reachable, which
//! backend, and whether it holds the key. The session engine's own probe
//! answers ([`session_engine::probe_keyring`]): it looks the entry up
//! without taking the secret out, creating or changing anything.

use super::{Check, Status};
use session_engine::{KeyringState, SecretKeyConfig, probe_keyring};

/// What to do when no keyring answers.
fn start_keyring_advice() -> &'static str {
    if cfg!(target_os = "linux") {
        "start a Secret Service in your D-Bus session: sudo apt install gnome-keyring, then log in to a desktop \
         session (or run `gnome-keyring-daemon --start --components=secrets` inside it); DBUS_SESSION_BUS_ADDRESS \
         must name the session bus. Until then the key file in the data directory (0600) is used"
    } else {
        "unlock the system keychain/credential manager; until then the key file in the data directory (0600) is used"
    }
}

/// The keyring as `config` would use it.
pub fn check(config: &SecretKeyConfig) -> Check {
    let title = "OS keyring for the session secret key";
    let probe = probe_keyring(config);
    let backend = probe
        .backend
        .as_deref()
        .map(|b| format!("backend: {b}"))
        .unwrap_or_else(|| "backend: none".to_owned());
    let env_note = config.env_value.is_some().then(|| {
        format!(
            "{} is set: it is the key, the keyring is not used for it",
            session_engine::secret::ENV_SECRET_KEY
        )
    });
    let mut check = match probe.state {
        KeyringState::Disabled => Check::new("keyring", title, Status::Skip)
            .saw("the keyring is switched off (--no-keyring): the key file in the data directory is used"),
        KeyringState::HoldsKey => Check::new("keyring", title, Status::Ok)
            .saw(backend)
            .saw(format!(
                "holds the session key (service {:?}, entry {:?})",
                config.keyring_service, config.keyring_user
            )),
        KeyringState::Empty => Check::new("keyring", title, Status::Ok)
            .saw(backend)
            .saw("reachable; no session key stored yet (the first start stores one there)"),
        KeyringState::Unavailable(why) => Check::new("keyring", title, Status::Warn)
            .saw(backend)
            .saw(why)
            .fix(start_keyring_advice()),
        KeyringState::Failed(why) => Check::new("keyring", title, Status::Fail)
            .saw(backend)
            .saw(why)
            .fix(format!(
                "remove the unusable entry so a new key is stored: secret-tool clear service {} username {}",
                config.keyring_service, config.keyring_user
            )),
        _ => Check::new("keyring", title, Status::Warn).saw(backend),
    };
    if let Some(note) = env_note {
        check = check.saw(note);
    }
    check
}
