//! The PC/SC service (pcscd on Linux) and its readers, for keys on
//! smart-card and NFC readers: "no service" and "no readers" are told apart.

use super::{Check, Status};

const TITLE: &str = "smart-card and NFC readers (PC/SC)";

/// The service and the readers it lists.
#[cfg(feature = "pcsc")]
pub fn check() -> Check {
    let title = TITLE;
    {
        use ctap_client::pcsc::PcscError;
        match ctap_client::pcsc::list_readers() {
            Ok(readers) if readers.is_empty() => Check::new("pcsc", title, Status::Ok)
                .saw("the PC/SC service runs; no reader is connected"),
            Ok(readers) => {
                let mut check = Check::new("pcsc", title, Status::Ok)
                    .saw(format!("the PC/SC service runs; {} reader(s)", readers.len()));
                for r in readers {
                    check = check.saw(format!(
                        "{}: {}",
                        r.reader,
                        match (r.card_present, &r.fido) {
                            (false, _) => "no card".to_owned(),
                            (true, Some(v)) => format!("a FIDO card ({v})"),
                            (true, None) => "a card without the FIDO applet".to_owned(),
                        }
                    ));
                }
                check
            }
            Err(PcscError::NoService) => Check::new("pcsc", title, Status::Warn)
                .saw("no PC/SC service answers (pcscd is not running)")
                .fix(if cfg!(target_os = "linux") {
                    "sudo apt install pcscd && sudo systemctl enable --now pcscd.socket (only needed for keys on smart-card or NFC readers)"
                } else {
                    "start the Smart Card service (only needed for keys on smart-card or NFC readers)"
                }),
            Err(e) => Check::new("pcsc", title, Status::Warn)
                .saw(e.to_string())
                .fix("restart the PC/SC service: sudo systemctl restart pcscd"),
        }
    }
}

/// The service and the readers it lists: this build has no PC/SC support.
#[cfg(not(feature = "pcsc"))]
pub fn check() -> Check {
    Check::new("pcsc", TITLE, Status::Skip).saw("this build has no PC/SC support")
}
