//! Checks that change the key, run only with `destructive` (the front end
//! asks first): set a PIN when there is none, a wrong PIN decrements
//! pinRetries and the right one restores them, changePIN. The PIN the probe sets is
//! [`PROBE_PIN`]; the report says so, so the tester can change or reset it.

use super::lab::{Lab, PROBE_RP_ID, Step, Verdict, fail, meta, verdict};
use super::result::Category;
use fido_wire::ctap2::{Permissions, StatusCode};

/// The PIN the probe sets on a key that has none.
pub const PROBE_PIN: &str = "31415926";
/// The PIN changePIN moves to (and back from).
const OTHER_PIN: &str = "27182818";
/// A PIN that is neither.
const WRONG_PIN: &str = "11235813";

/// Runs the PIN checks; returns nothing, records results on the bench.
pub fn run(lab: &mut Lab<'_>) {
    if lab.device.info().option("clientPin").is_none() {
        lab.check(
            meta(
                "pin.set",
                "setPIN on a key without a PIN",
                Category::Destructive,
                "CTAP 2.1 §6.5.5.3",
            ),
            |_| Ok(Verdict::Skip("the key offers no clientPIN".into())),
        );
        return;
    }
    let mut pin = lab.pin.clone();
    lab.check(
        meta(
            "pin.set",
            "setPIN on a key without a PIN, then getInfo reports clientPin true",
            Category::Destructive,
            "CTAP 2.1 §6.5.5.3, §6.4",
        ),
        |lab| set_pin(lab, &mut pin),
    );
    let Some(pin) = pin else {
        return;
    };
    lab.pin = Some(pin.clone());
    lab.check(
        meta(
            "pin.retries",
            "a wrong PIN decrements pinRetries and answers PIN_INVALID; the right PIN restores them",
            Category::Destructive,
            "CTAP 2.1 §6.5.5.7 (pinRetries), §6.5.5.1",
        ),
        |lab| retries(lab, &pin),
    );
    lab.check(
        meta(
            "pin.change",
            "changePIN moves to a new PIN that then gives a token (and back)",
            Category::Destructive,
            "CTAP 2.1 §6.5.5.4",
        ),
        |lab| change(lab, &pin),
    );
}

fn set_pin(lab: &mut Lab<'_>, pin: &mut Option<String>) -> Step<Verdict> {
    if lab.option("clientPin") {
        return Ok(Verdict::Skip(if pin.is_some() {
            "the key has a PIN already (the given one is used)".into()
        } else {
            "the key has a PIN and none was given: the PIN checks need it".into()
        }));
    }
    lab.device
        .set_pin(PROBE_PIN)
        .map_err(|e| fail("setPIN to succeed", e.to_string()))?;
    *pin = Some(PROBE_PIN.to_owned());
    let info = lab
        .device
        .get_info()
        .map_err(|e| fail("a getInfo answer", e.to_string()))?;
    Ok(verdict(
        info.option("clientPin") == Some(true),
        "clientPin: true after setPIN",
        format!("clientPin: {:?}", info.option("clientPin")),
    ))
}

fn retries(lab: &mut Lab<'_>, pin: &str) -> Step<Verdict> {
    let before = lab
        .device
        .pin_retries()
        .map_err(|e| fail("a getPINRetries answer", e.to_string()))?
        .retries;
    let wrong = if pin == WRONG_PIN {
        OTHER_PIN
    } else {
        WRONG_PIN
    };
    let perms = Permissions(Permissions::GET_ASSERTION);
    match lab.device.pin_token(wrong, perms, Some(PROBE_RP_ID)) {
        Ok(_) => return Ok(fail("PIN_INVALID for a wrong PIN", "a token")),
        Err(e) if e.status() != Some(StatusCode::PIN_INVALID) => {
            return Ok(fail("PIN_INVALID for a wrong PIN", e.to_string()));
        }
        Err(_) => {}
    }
    let after = lab
        .device
        .pin_retries()
        .map_err(|e| fail("a getPINRetries answer", e.to_string()))?
        .retries;
    if after + 1 != before {
        return Ok(fail(
            format!("pinRetries {} after a wrong PIN", before.saturating_sub(1)),
            format!("pinRetries {after} (was {before})"),
        ));
    }
    lab.device
        .pin_token(pin, perms, Some(PROBE_RP_ID))
        .map_err(|e| fail("a token for the right PIN", e.to_string()))?;
    let restored = lab
        .device
        .pin_retries()
        .map_err(|e| fail("a getPINRetries answer", e.to_string()))?
        .retries;
    Ok(verdict(
        restored > after,
        "pinRetries back to the maximum after the right PIN",
        format!("pinRetries {restored}"),
    ))
}

fn change(lab: &mut Lab<'_>, pin: &str) -> Step<Verdict> {
    let other = if pin == OTHER_PIN {
        PROBE_PIN
    } else {
        OTHER_PIN
    };
    lab.device
        .change_pin(pin, other)
        .map_err(|e| fail("changePIN to succeed", e.to_string()))?;
    let token = lab.device.pin_token(
        other,
        Permissions(Permissions::GET_ASSERTION),
        Some(PROBE_RP_ID),
    );
    lab.device
        .change_pin(other, pin)
        .map_err(|e| fail("changePIN back to succeed", e.to_string()))?;
    Ok(match token {
        Ok(_) => Verdict::Pass,
        Err(e) => fail("a token for the new PIN", e.to_string()),
    })
}
