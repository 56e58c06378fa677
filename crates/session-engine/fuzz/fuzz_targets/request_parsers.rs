//! What a request carries into the session engine, from any bytes: the
//! session id validator, the Cookie header lookup, cookie unsealing and the
//! Origin/Referer check. Each accepts or refuses cleanly; an id that parses
//! prints back unchanged; nothing unseals without the key.
#![no_main]
use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use session_engine::csrf::{OriginAllowList, check_origin};
use session_engine::{SecretKey, SessionId, SystemClock};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = SessionId::parse(&text) {
        assert_eq!(id.expose(), text);
    }
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(data) {
        headers.insert(http::header::COOKIE, v.clone());
        headers.insert(http::header::ORIGIN, v.clone());
        headers.insert(http::header::REFERER, v);
    }
    if let Some(value) = session_engine::policy::find_cookie(&headers, "keybench-session") {
        let keys = session_engine::KeyManager::in_memory(SecretKey::generate(), Arc::new(SystemClock));
        assert!(session_engine::seal::open(&keys, "keybench-session", &value).is_err());
    }
    let allowed = OriginAllowList::new(["https://example.com", "http://localhost:8765"]).unwrap();
    let _ = check_origin(&Method::POST, &headers, &allowed);
});
