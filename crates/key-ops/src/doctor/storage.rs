//! The storage bucket, when sessions live in GCS or S3: the credentials
//! accepted and the bucket writable (a probe object written, read back and
//! deleted through the session store's own object-store backend), and the
//! service's clock against this machine's (from the probe object's
//! Last-Modified, which the service stamps with its clock).

use super::{Check, Status};
use session_store::{ObjectStorage, ObjectStoreOptions, RemoteConfig, StoreError};
use std::time::Duration;

/// Skew above this many seconds is warned about: challenges and sessions
/// are timed by this machine's clock, signed requests by both.
pub const SKEW_WARN_SECS: i64 = 30;

/// The bucket, if one is configured.
pub fn check(config: Option<&RemoteConfig>) -> Check {
    let title = "storage bucket (credentials, writable, clock)";
    let Some(config) = config else {
        return Check::new("storage", title, Status::Skip)
            .saw("local storage in the data directory (no bucket configured)");
    };
    let is_s3 = matches!(config, RemoteConfig::S3 { .. });
    // A diagnosis answers quickly: few retries, a short deadline.
    let options = ObjectStoreOptions {
        max_retries: 1,
        retry_timeout: Duration::from_secs(3),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        call_deadline: Duration::from_secs(10),
        ..ObjectStoreOptions::default()
    };
    let store = match ObjectStorage::connect(config.clone(), options) {
        Ok(s) => s,
        Err(e) => {
            return Check::new("storage", title, Status::Fail)
                .saw(format!("the client could not be set up: {e}"))
                .fix(credentials_advice(is_s3));
        }
    };
    let location = store.location().to_owned();
    match store.probe() {
        Ok(probe) => {
            let mut check = Check::new("storage", title, Status::Ok)
                .saw(format!("{location}: credentials accepted"))
                .saw(format!(
                    "probe object {} written, read back and deleted",
                    probe.object
                ));
            match probe.clock_skew_secs() {
                Some(skew) if skew.abs() > SKEW_WARN_SECS => {
                    check.status = Status::Warn;
                    check = check
                        .saw(format!(
                            "the service's clock is {skew:+} s from this machine's"
                        ))
                        .fix("synchronise this machine's clock: sudo timedatectl set-ntp true");
                }
                Some(skew) => {
                    check = check.saw(format!("clock skew {skew:+} s (within {SKEW_WARN_SECS} s)"))
                }
                None => check = check.saw("the service gave no usable time: clock skew unknown"),
            }
            check
        }
        Err(StoreError::Denied { reason, .. }) => Check::new("storage", title, Status::Fail)
            .saw(format!(
                "{location}: the service refused the credentials: {reason}"
            ))
            .fix(credentials_advice(is_s3)),
        Err(e) => {
            let text = e.to_string();
            let missing_bucket = text.contains("NoSuchBucket") || text.contains("Not Found");
            Check::new("storage", title, Status::Fail)
                .saw(format!("{location}: {text}"))
                .fix(if missing_bucket {
                    "create the bucket, or name an existing one with --bucket".to_owned()
                } else if is_s3 {
                    "check that the endpoint answers (--endpoint, default the AWS endpoint for --region) and the network allows it; until it does, `keybench serve` falls back to local storage".to_owned()
                } else {
                    "check that storage.googleapis.com (or the emulator in the key file's gcs_base_url) answers and the network allows it; until it does, `keybench serve` falls back to local storage".to_owned()
                })
        }
    }
}

fn credentials_advice(is_s3: bool) -> String {
    if is_s3 {
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones) to credentials allowed s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket".to_owned()
    } else {
        "pass a service-account key with --gcs-key (or GOOGLE_APPLICATION_CREDENTIALS) whose account has roles/storage.objectUser on the bucket".to_owned()
    }
}
