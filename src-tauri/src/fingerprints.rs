//! The Keys page's fingerprints, below Tauri: the chosen key's sensor and
//! enrolled fingers listed, a finger enrolled with each sample sent to the
//! window as it comes ([`FINGERPRINT_SAMPLE`]), renamed and deleted — each
//! one `key_ops::bio` call, as `keybench bio` makes it.

use crate::error::CommandError;
use crate::keys::{Keys, touch_prompt};
use key_ops::bio::{self, EnrolledView, FingerprintsView};
use serde_json::json;

/// One enrolment sample (`{key, sample: {status, good, remaining}}`).
pub const FINGERPRINT_SAMPLE: &str = "fingerprint-sample";

impl Keys {
    /// The sensor, the match attempts left and the enrolled fingers.
    pub fn fingerprints(&self, id: &str, pin: &str) -> Result<FingerprintsView, CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(bio::list(&mut device, pin)?)
    }

    /// Enrols a finger (named `name` when given), telling the window of
    /// each sample; Cancel (ceremony_cancel) stops it.
    pub fn fingerprint_enroll(
        &self,
        id: &str,
        pin: &str,
        name: Option<&str>,
    ) -> Result<EnrolledView, CommandError> {
        let (_busy, mut device) = self.open(id)?;
        let cancel = self.begin_ceremony(id);
        let notify = self.notifier();
        let mut prompt = touch_prompt(notify.clone());
        let key = id.to_owned();
        let result = bio::enroll(
            &mut device,
            pin,
            name,
            &mut |sample| notify.emit(FINGERPRINT_SAMPLE, json!({"key": key, "sample": sample})),
            Some(&mut prompt),
            Some(&cancel),
        );
        self.end_ceremony(id);
        Ok(result?)
    }

    /// Names the finger `template_id` (hex).
    pub fn fingerprint_rename(
        &self,
        id: &str,
        pin: &str,
        template_id: &str,
        name: &str,
    ) -> Result<(), CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(bio::rename(&mut device, pin, template_id, name)?)
    }

    /// Deletes the finger `template_id` (hex).
    pub fn fingerprint_delete(
        &self,
        id: &str,
        pin: &str,
        template_id: &str,
    ) -> Result<(), CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(bio::delete(&mut device, pin, template_id)?)
    }
}
