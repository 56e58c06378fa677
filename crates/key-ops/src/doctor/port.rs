//! The address `keybench serve` listens on (127.0.0.1:8765 by default):
//! free, or taken by another process.

use super::{Check, PortTarget, Status};

/// Binds the address for a moment (and lets it go) to see whether it is free.
pub fn check(target: PortTarget) -> Check {
    let title = "the server's address";
    let addr = match target {
        PortTarget::Serving(addr) => {
            return Check::new("port", title, Status::Ok).saw(format!("this app serves on {addr}"));
        }
        PortTarget::Listen(addr) => addr,
    };
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Check::new("port", title, Status::Ok).saw(format!("{addr} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            Check::new("port", title, Status::Fail)
                .saw(format!("{addr} is in use by another process: {e}"))
                .fix(format!(
                    "see who holds it with `ss -ltnp 'sport = :{}'` and stop it, or listen elsewhere: keybench serve --listen {}:0 (a free port) or another port",
                    addr.port(),
                    addr.ip()
                ))
        }
        Err(e) => Check::new("port", title, Status::Fail)
            .saw(format!("{addr}: {e}"))
            .fix(if addr.port() < 1024 {
                "ports below 1024 need privileges: pick one above 1023 with --listen".to_owned()
            } else {
                "pick an address this machine has with --listen (127.0.0.1:8765 by default)".to_owned()
            }),
    }
}
