//! authenticatorGetInfo (CTAP 2.1 §6.4, CTAP 2.2 additions), every member
//! decoded; members this crate does not know are kept, not dropped.

use super::fields::{Ctap2Error, MapReader, bytes, int_map, text_list, texts, uint_list, uints};
use crate::cbor::Value;
use crate::cose::CoseAlgorithm;

const WHAT: &str = "authenticatorGetInfo response";

/// One entry of `algorithms`: a credential type and COSE algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmEntry {
    /// "public-key".
    pub kind: String,
    /// The algorithm, carried through unchanged.
    pub alg: CoseAlgorithm,
}

/// The authenticatorGetInfo response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetInfo {
    /// 0x01 versions ("FIDO_2_0", "FIDO_2_1", "U2F_V2", ...).
    pub versions: Vec<String>,
    /// 0x02 extensions.
    pub extensions: Vec<String>,
    /// 0x03 AAGUID.
    pub aaguid: [u8; 16],
    /// 0x04 options, in wire order.
    pub options: Vec<(String, bool)>,
    /// 0x05 maxMsgSize.
    pub max_msg_size: Option<u64>,
    /// 0x06 pinUvAuthProtocols, preferred first.
    pub pin_uv_auth_protocols: Vec<u64>,
    /// 0x07 maxCredentialCountInList.
    pub max_credential_count_in_list: Option<u64>,
    /// 0x08 maxCredentialIdLength.
    pub max_credential_id_length: Option<u64>,
    /// 0x09 transports.
    pub transports: Vec<String>,
    /// 0x0A algorithms, preferred first.
    pub algorithms: Vec<AlgorithmEntry>,
    /// 0x0B maxSerializedLargeBlobArray.
    pub max_serialized_large_blob_array: Option<u64>,
    /// 0x0C forcePINChange.
    pub force_pin_change: Option<bool>,
    /// 0x0D minPINLength.
    pub min_pin_length: Option<u64>,
    /// 0x0E firmwareVersion.
    pub firmware_version: Option<u64>,
    /// 0x0F maxCredBlobLength.
    pub max_cred_blob_length: Option<u64>,
    /// 0x10 maxRPIDsForSetMinPINLength.
    pub max_rpids_for_set_min_pin_length: Option<u64>,
    /// 0x11 preferredPlatformUvAttempts.
    pub preferred_platform_uv_attempts: Option<u64>,
    /// 0x12 uvModality.
    pub uv_modality: Option<u64>,
    /// 0x13 certifications, in wire order.
    pub certifications: Vec<(String, u64)>,
    /// 0x14 remainingDiscoverableCredentials.
    pub remaining_discoverable_credentials: Option<u64>,
    /// 0x15 vendorPrototypeConfigCommands.
    pub vendor_prototype_config_commands: Vec<u64>,
    /// 0x16 attestationFormats (CTAP 2.2).
    pub attestation_formats: Vec<String>,
    /// 0x17 uvCountSinceLastPinEntry (CTAP 2.2).
    pub uv_count_since_last_pin_entry: Option<u64>,
    /// 0x18 longTouchForReset (CTAP 2.2).
    pub long_touch_for_reset: Option<bool>,
    /// 0x19 encIdentifier (CTAP 2.2).
    pub enc_identifier: Option<Vec<u8>>,
    /// 0x1A transportsForReset (CTAP 2.2).
    pub transports_for_reset: Vec<String>,
    /// 0x1B pinComplexityPolicy (CTAP 2.2).
    pub pin_complexity_policy: Option<bool>,
    /// 0x1C pinComplexityPolicyURL (CTAP 2.2).
    pub pin_complexity_policy_url: Option<Vec<u8>>,
    /// 0x1D maxPINLength (CTAP 2.2).
    pub max_pin_length: Option<u64>,
    /// 0x1E encCredStoreState (CTAP 2.2).
    pub enc_cred_store_state: Option<Vec<u8>>,
    /// 0x1F authenticatorConfigCommands (CTAP 2.2).
    pub authenticator_config_commands: Vec<u64>,
    /// Members with keys this crate does not know, in wire order.
    pub other: Vec<(Value, Value)>,
}

const KNOWN: [i64; 31] = [
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];

fn text_bool_map(v: &Value) -> Option<Vec<(String, bool)>> {
    v.as_map()?
        .iter()
        .map(|(k, v)| Some((k.as_text()?.to_owned(), v.as_bool()?)))
        .collect()
}

fn text_uint_map(v: &Value) -> Option<Vec<(String, u64)>> {
    v.as_map()?
        .iter()
        .map(|(k, v)| Some((k.as_text()?.to_owned(), v.as_u64()?)))
        .collect()
}

fn algorithms(v: &Value) -> Option<Vec<AlgorithmEntry>> {
    v.as_array()?
        .iter()
        .map(|entry| {
            Some(AlgorithmEntry {
                kind: entry.get_text("type")?.as_text()?.to_owned(),
                alg: CoseAlgorithm(entry.get_text("alg")?.as_i64()?),
            })
        })
        .collect()
}

impl GetInfo {
    /// Decodes the response map (after the status byte).
    pub fn from_value(value: &Value) -> Result<GetInfo, Ctap2Error> {
        let m = MapReader::new(WHAT, value)?;
        let u = |k, n| m.opt(k, n, "an unsigned integer", Value::as_u64);
        let b = |k, n| m.opt(k, n, "a boolean", Value::as_bool);
        let tl = |k, n| {
            m.opt(k, n, "an array of text strings", text_list)
                .map(Option::unwrap_or_default)
        };
        let aaguid = m.req(0x03, "aaguid", "a 16-byte byte string", |v| {
            v.as_bytes().and_then(|b| <[u8; 16]>::try_from(b).ok())
        })?;
        Ok(GetInfo {
            versions: m.req(0x01, "versions", "an array of text strings", text_list)?,
            extensions: tl(0x02, "extensions")?,
            aaguid,
            options: m
                .opt(0x04, "options", "a map of text to boolean", text_bool_map)?
                .unwrap_or_default(),
            max_msg_size: u(0x05, "maxMsgSize")?,
            pin_uv_auth_protocols: m
                .opt(
                    0x06,
                    "pinUvAuthProtocols",
                    "an array of unsigned integers",
                    uint_list,
                )?
                .unwrap_or_default(),
            max_credential_count_in_list: u(0x07, "maxCredentialCountInList")?,
            max_credential_id_length: u(0x08, "maxCredentialIdLength")?,
            transports: tl(0x09, "transports")?,
            algorithms: m
                .opt(
                    0x0a,
                    "algorithms",
                    "an array of {type, alg} maps",
                    algorithms,
                )?
                .unwrap_or_default(),
            max_serialized_large_blob_array: u(0x0b, "maxSerializedLargeBlobArray")?,
            force_pin_change: b(0x0c, "forcePINChange")?,
            min_pin_length: u(0x0d, "minPINLength")?,
            firmware_version: u(0x0e, "firmwareVersion")?,
            max_cred_blob_length: u(0x0f, "maxCredBlobLength")?,
            max_rpids_for_set_min_pin_length: u(0x10, "maxRPIDsForSetMinPINLength")?,
            preferred_platform_uv_attempts: u(0x11, "preferredPlatformUvAttempts")?,
            uv_modality: u(0x12, "uvModality")?,
            certifications: m
                .opt(
                    0x13,
                    "certifications",
                    "a map of text to unsigned integer",
                    text_uint_map,
                )?
                .unwrap_or_default(),
            remaining_discoverable_credentials: u(0x14, "remainingDiscoverableCredentials")?,
            vendor_prototype_config_commands: m
                .opt(
                    0x15,
                    "vendorPrototypeConfigCommands",
                    "an array of unsigned integers",
                    uint_list,
                )?
                .unwrap_or_default(),
            attestation_formats: tl(0x16, "attestationFormats")?,
            uv_count_since_last_pin_entry: u(0x17, "uvCountSinceLastPinEntry")?,
            long_touch_for_reset: b(0x18, "longTouchForReset")?,
            enc_identifier: m.opt(0x19, "encIdentifier", "a byte string", bytes)?,
            transports_for_reset: tl(0x1a, "transportsForReset")?,
            pin_complexity_policy: b(0x1b, "pinComplexityPolicy")?,
            pin_complexity_policy_url: m.opt(
                0x1c,
                "pinComplexityPolicyURL",
                "a byte string",
                bytes,
            )?,
            max_pin_length: u(0x1d, "maxPINLength")?,
            enc_cred_store_state: m.opt(0x1e, "encCredStoreState", "a byte string", bytes)?,
            authenticator_config_commands: m
                .opt(
                    0x1f,
                    "authenticatorConfigCommands",
                    "an array of unsigned integers",
                    uint_list,
                )?
                .unwrap_or_default(),
            other: m.others(&KNOWN),
        })
    }

    /// The option's value, if the authenticator reports it.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options
            .iter()
            .find_map(|(k, v)| (k == name).then_some(*v))
    }

    /// maxMsgSize, or the CTAP default of 1024 when absent.
    pub fn effective_max_msg_size(&self) -> u64 {
        self.max_msg_size.unwrap_or(1024)
    }

    /// Encodes the response map (an authenticator's side).
    pub fn to_value(&self) -> Value {
        let nonempty = |list: &[String]| (!list.is_empty()).then(|| texts(list));
        let u = |v: Option<u64>| v.map(Value::int);
        int_map(
            vec![
                (0x01, Some(texts(&self.versions))),
                (0x02, nonempty(&self.extensions)),
                (0x03, Some(Value::bytes(self.aaguid.to_vec()))),
                (
                    0x04,
                    (!self.options.is_empty()).then(|| {
                        Value::map(
                            self.options
                                .iter()
                                .map(|(k, v)| (Value::text(k.clone()), Value::Bool(*v))),
                        )
                    }),
                ),
                (0x05, u(self.max_msg_size)),
                (
                    0x06,
                    (!self.pin_uv_auth_protocols.is_empty())
                        .then(|| uints(&self.pin_uv_auth_protocols)),
                ),
                (0x07, u(self.max_credential_count_in_list)),
                (0x08, u(self.max_credential_id_length)),
                (0x09, nonempty(&self.transports)),
                (
                    0x0a,
                    (!self.algorithms.is_empty()).then(|| {
                        Value::Array(
                            self.algorithms
                                .iter()
                                .map(|a| {
                                    Value::map([
                                        (Value::text("alg"), Value::int(a.alg.0)),
                                        (Value::text("type"), Value::text(a.kind.clone())),
                                    ])
                                })
                                .collect(),
                        )
                    }),
                ),
                (0x0b, u(self.max_serialized_large_blob_array)),
                (0x0c, self.force_pin_change.map(Value::Bool)),
                (0x0d, u(self.min_pin_length)),
                (0x0e, u(self.firmware_version)),
                (0x0f, u(self.max_cred_blob_length)),
                (0x10, u(self.max_rpids_for_set_min_pin_length)),
                (0x11, u(self.preferred_platform_uv_attempts)),
                (0x12, u(self.uv_modality)),
                (
                    0x13,
                    (!self.certifications.is_empty()).then(|| {
                        Value::map(
                            self.certifications
                                .iter()
                                .map(|(k, v)| (Value::text(k.clone()), Value::int(*v))),
                        )
                    }),
                ),
                (0x14, u(self.remaining_discoverable_credentials)),
                (
                    0x15,
                    (!self.vendor_prototype_config_commands.is_empty())
                        .then(|| uints(&self.vendor_prototype_config_commands)),
                ),
                (0x16, nonempty(&self.attestation_formats)),
                (0x17, u(self.uv_count_since_last_pin_entry)),
                (0x18, self.long_touch_for_reset.map(Value::Bool)),
                (0x19, self.enc_identifier.clone().map(Value::bytes)),
                (0x1a, nonempty(&self.transports_for_reset)),
                (0x1b, self.pin_complexity_policy.map(Value::Bool)),
                (
                    0x1c,
                    self.pin_complexity_policy_url.clone().map(Value::bytes),
                ),
                (0x1d, u(self.max_pin_length)),
                (0x1e, self.enc_cred_store_state.clone().map(Value::bytes)),
                (
                    0x1f,
                    (!self.authenticator_config_commands.is_empty())
                        .then(|| uints(&self.authenticator_config_commands)),
                ),
            ],
            &self.other,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::{self, DecodeOptions};

    #[test]
    fn an_ml_dsa_authenticator_info_round_trips_canonically() {
        let info = GetInfo {
            versions: vec!["FIDO_2_0".into(), "FIDO_2_1".into()],
            extensions: vec!["credProtect".into(), "hmac-secret".into()],
            aaguid: [7; 16],
            options: vec![
                ("rk".into(), true),
                ("up".into(), true),
                ("clientPin".into(), false),
            ],
            max_msg_size: Some(7609),
            pin_uv_auth_protocols: vec![2, 1],
            algorithms: [
                CoseAlgorithm::ML_DSA_87,
                CoseAlgorithm::ML_DSA_65,
                CoseAlgorithm::ES256,
            ]
            .into_iter()
            .map(|alg| AlgorithmEntry {
                kind: "public-key".into(),
                alg,
            })
            .collect(),
            firmware_version: Some(1),
            ..Default::default()
        };
        let bytes = cbor::to_canonical_vec(&info.to_value());
        let back =
            GetInfo::from_value(&cbor::from_slice(&bytes, &DecodeOptions::CTAP2).unwrap()).unwrap();
        assert_eq!(back, info);
        assert_eq!(back.option("clientPin"), Some(false));
        assert_eq!(back.effective_max_msg_size(), 7609);
    }

    #[test]
    fn errors_name_the_member() {
        let v = Value::map([
            (Value::int(1), Value::Array(vec![Value::text("FIDO_2_1")])),
            (Value::int(3), Value::bytes(vec![0; 15])),
        ]);
        let err = GetInfo::from_value(&v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "authenticatorGetInfo response member 0x03 (aaguid) must be a 16-byte byte string, found a byte string"
        );
        let v = Value::map([(Value::int(3), Value::bytes(vec![0; 16]))]);
        assert_eq!(
            GetInfo::from_value(&v).unwrap_err(),
            Ctap2Error::Missing {
                what: WHAT,
                key: 1,
                name: "versions"
            }
        );
    }
}
