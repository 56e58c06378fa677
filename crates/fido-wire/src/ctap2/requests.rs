//! The authenticatorMakeCredential and authenticatorGetAssertion requests
//! (CTAP 2.1 §6.1, §6.2): encoded by the client, decoded by the virtual
//! authenticator, from this one definition.

use super::fields::{Ctap2Error, MapReader, bytes, int_map, text_list, texts};
use crate::cbor::Value;
use crate::cose::CoseAlgorithm;
use std::fmt;

/// A PublicKeyCredentialDescriptor as CTAP carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// "public-key".
    pub kind: String,
    /// Credential id.
    pub id: Vec<u8>,
}

/// The `options` map: each member present only when the platform set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestOptions {
    /// "rk": create a discoverable credential (makeCredential only).
    pub rk: Option<bool>,
    /// "up": require user presence (getAssertion only; default true).
    pub up: Option<bool>,
    /// "uv": require built-in user verification.
    pub uv: Option<bool>,
}

/// pinUvAuthParam bytes: secret-derived, so never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PinUvAuthParam(pub Vec<u8>);

impl fmt::Debug for PinUvAuthParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<pinUvAuthParam, {} bytes, redacted>", self.0.len())
    }
}

/// authenticatorMakeCredential parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeCredentialRequest {
    /// 0x01 clientDataHash.
    pub client_data_hash: Vec<u8>,
    /// 0x02 rp.id.
    pub rp_id: String,
    /// 0x02 rp.name.
    pub rp_name: Option<String>,
    /// 0x03 user.id.
    pub user_id: Vec<u8>,
    /// 0x03 user.name.
    pub user_name: Option<String>,
    /// 0x03 user.displayName.
    pub user_display_name: Option<String>,
    /// 0x04 pubKeyCredParams, preferred first: (type, alg).
    pub pub_key_cred_params: Vec<(String, CoseAlgorithm)>,
    /// 0x05 excludeList.
    pub exclude_list: Vec<Descriptor>,
    /// 0x06 extensions.
    pub extensions: Option<Value>,
    /// 0x07 options.
    pub options: RequestOptions,
    /// 0x08 pinUvAuthParam.
    pub pin_uv_auth_param: Option<PinUvAuthParam>,
    /// 0x09 pinUvAuthProtocol.
    pub pin_uv_auth_protocol: Option<u64>,
    /// 0x0A enterpriseAttestation.
    pub enterprise_attestation: Option<u64>,
    /// 0x0B attestationFormatsPreference.
    pub attestation_formats_preference: Vec<String>,
}

/// authenticatorGetAssertion parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAssertionRequest {
    /// 0x01 rpId.
    pub rp_id: String,
    /// 0x02 clientDataHash.
    pub client_data_hash: Vec<u8>,
    /// 0x03 allowList.
    pub allow_list: Vec<Descriptor>,
    /// 0x04 extensions.
    pub extensions: Option<Value>,
    /// 0x05 options.
    pub options: RequestOptions,
    /// 0x06 pinUvAuthParam.
    pub pin_uv_auth_param: Option<PinUvAuthParam>,
    /// 0x07 pinUvAuthProtocol.
    pub pin_uv_auth_protocol: Option<u64>,
}

impl Descriptor {
    /// A "public-key" descriptor.
    pub fn public_key(id: Vec<u8>) -> Descriptor {
        Descriptor {
            kind: "public-key".into(),
            id,
        }
    }

    /// Reads a descriptor map; `None` when it lacks a text type or byte-string id.
    pub fn from_value(d: &Value) -> Option<Descriptor> {
        Some(Descriptor {
            kind: d.get_text("type")?.as_text()?.to_owned(),
            id: d.get_text("id")?.as_bytes()?.to_vec(),
        })
    }

    /// The descriptor map.
    pub fn to_value(&self) -> Value {
        Value::map([
            (Value::text("id"), Value::bytes(self.id.clone())),
            (Value::text("type"), Value::text(self.kind.clone())),
        ])
    }
}

fn descriptors(v: &Value) -> Option<Vec<Descriptor>> {
    v.as_array()?.iter().map(Descriptor::from_value).collect()
}

fn descriptors_value(list: &[Descriptor]) -> Option<Value> {
    (!list.is_empty()).then(|| Value::Array(list.iter().map(Descriptor::to_value).collect()))
}

fn options(v: &Value) -> Option<RequestOptions> {
    let mut o = RequestOptions::default();
    for (k, v) in v.as_map()? {
        let flag = v.as_bool()?;
        match k.as_text()? {
            "rk" => o.rk = Some(flag),
            "up" => o.up = Some(flag),
            "uv" => o.uv = Some(flag),
            _ => {} // unknown options are ignored, as CTAP 2.1 §6.1.2 step 5 says
        }
    }
    Some(o)
}

fn options_value(o: &RequestOptions) -> Option<Value> {
    let entries: Vec<(Value, Value)> = [("rk", o.rk), ("up", o.up), ("uv", o.uv)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (Value::text(k), Value::Bool(v))))
        .collect();
    (!entries.is_empty()).then_some(Value::Map(entries))
}

fn client_data_hash(v: &Value) -> Option<Vec<u8>> {
    v.as_bytes().filter(|b| b.len() == 32).map(<[u8]>::to_vec)
}

fn map_value(v: &Value) -> Option<Value> {
    v.as_map().map(|_| v.clone())
}

impl MakeCredentialRequest {
    /// Decodes the request map (an authenticator's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorMakeCredential request", value)?;
        let rp = m.require(0x02, "rp")?;
        let rp_id = rp
            .get_text("id")
            .and_then(Value::as_text)
            .ok_or_else(|| m.invalid(0x02, "rp", "a map with a text id", rp))?
            .to_owned();
        let user = m.require(0x03, "user")?;
        let user_id = user
            .get_text("id")
            .and_then(Value::as_bytes)
            .filter(|id| id.len() <= 64)
            .ok_or_else(|| {
                m.invalid(
                    0x03,
                    "user",
                    "a map with a byte-string id of at most 64 bytes",
                    user,
                )
            })?
            .to_vec();
        let text = |v: &Value, k: &str| v.get_text(k).and_then(Value::as_text).map(str::to_owned);
        let params = m.req(
            0x04,
            "pubKeyCredParams",
            "an array of {type, alg} maps",
            |v| {
                v.as_array()?
                    .iter()
                    .map(|p| {
                        Some((
                            p.get_text("type")?.as_text()?.to_owned(),
                            CoseAlgorithm(p.get_text("alg")?.as_i64()?),
                        ))
                    })
                    .collect::<Option<Vec<_>>>()
            },
        )?;
        Ok(MakeCredentialRequest {
            client_data_hash: m.req(
                0x01,
                "clientDataHash",
                "a 32-byte byte string",
                client_data_hash,
            )?,
            rp_id,
            rp_name: text(rp, "name"),
            user_id,
            user_name: text(user, "name"),
            user_display_name: text(user, "displayName"),
            pub_key_cred_params: params,
            exclude_list: m
                .opt(0x05, "excludeList", "an array of descriptors", descriptors)?
                .unwrap_or_default(),
            extensions: m.opt(0x06, "extensions", "a map", map_value)?,
            options: m
                .opt(0x07, "options", "a map of text to boolean", options)?
                .unwrap_or_default(),
            pin_uv_auth_param: m
                .opt(0x08, "pinUvAuthParam", "a byte string", bytes)?
                .map(PinUvAuthParam),
            pin_uv_auth_protocol: m.opt(
                0x09,
                "pinUvAuthProtocol",
                "an unsigned integer",
                Value::as_u64,
            )?,
            enterprise_attestation: m.opt(
                0x0a,
                "enterpriseAttestation",
                "an unsigned integer",
                Value::as_u64,
            )?,
            attestation_formats_preference: m
                .opt(
                    0x0b,
                    "attestationFormatsPreference",
                    "an array of text strings",
                    text_list,
                )?
                .unwrap_or_default(),
        })
    }

    /// Encodes the request map (a client's side).
    pub fn to_value(&self) -> Value {
        let mut rp = vec![(Value::text("id"), Value::text(self.rp_id.clone()))];
        if let Some(name) = &self.rp_name {
            rp.push((Value::text("name"), Value::text(name.clone())));
        }
        let mut user = vec![(Value::text("id"), Value::bytes(self.user_id.clone()))];
        if let Some(name) = &self.user_name {
            user.push((Value::text("name"), Value::text(name.clone())));
        }
        if let Some(name) = &self.user_display_name {
            user.push((Value::text("displayName"), Value::text(name.clone())));
        }
        let params = Value::Array(
            self.pub_key_cred_params
                .iter()
                .map(|(kind, alg)| {
                    Value::map([
                        (Value::text("alg"), Value::int(alg.0)),
                        (Value::text("type"), Value::text(kind.clone())),
                    ])
                })
                .collect(),
        );
        int_map(
            vec![
                (0x01, Some(Value::bytes(self.client_data_hash.clone()))),
                (0x02, Some(Value::Map(rp))),
                (0x03, Some(Value::Map(user))),
                (0x04, Some(params)),
                (0x05, descriptors_value(&self.exclude_list)),
                (0x06, self.extensions.clone()),
                (0x07, options_value(&self.options)),
                (
                    0x08,
                    self.pin_uv_auth_param
                        .as_ref()
                        .map(|p| Value::bytes(p.0.clone())),
                ),
                (0x09, self.pin_uv_auth_protocol.map(Value::int)),
                (0x0a, self.enterprise_attestation.map(Value::int)),
                (
                    0x0b,
                    (!self.attestation_formats_preference.is_empty())
                        .then(|| texts(&self.attestation_formats_preference)),
                ),
            ],
            &[],
        )
    }
}

impl GetAssertionRequest {
    /// Decodes the request map (an authenticator's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorGetAssertion request", value)?;
        Ok(GetAssertionRequest {
            rp_id: m.req(0x01, "rpId", "a text string", |v| {
                v.as_text().map(str::to_owned)
            })?,
            client_data_hash: m.req(
                0x02,
                "clientDataHash",
                "a 32-byte byte string",
                client_data_hash,
            )?,
            allow_list: m
                .opt(0x03, "allowList", "an array of descriptors", descriptors)?
                .unwrap_or_default(),
            extensions: m.opt(0x04, "extensions", "a map", map_value)?,
            options: m
                .opt(0x05, "options", "a map of text to boolean", options)?
                .unwrap_or_default(),
            pin_uv_auth_param: m
                .opt(0x06, "pinUvAuthParam", "a byte string", bytes)?
                .map(PinUvAuthParam),
            pin_uv_auth_protocol: m.opt(
                0x07,
                "pinUvAuthProtocol",
                "an unsigned integer",
                Value::as_u64,
            )?,
        })
    }

    /// Encodes the request map (a client's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, Some(Value::text(self.rp_id.clone()))),
                (0x02, Some(Value::bytes(self.client_data_hash.clone()))),
                (0x03, descriptors_value(&self.allow_list)),
                (0x04, self.extensions.clone()),
                (0x05, options_value(&self.options)),
                (
                    0x06,
                    self.pin_uv_auth_param
                        .as_ref()
                        .map(|p| Value::bytes(p.0.clone())),
                ),
                (0x07, self.pin_uv_auth_protocol.map(Value::int)),
            ],
            &[],
        )
    }
}

/// Encodes a CTAPHID_CBOR request: the command byte, then the parameters in
/// CTAP2 canonical CBOR (none for commands without parameters).
pub fn encode_request(command: u8, params: Option<&Value>) -> Vec<u8> {
    let mut out = vec![command];
    if let Some(p) = params {
        crate::cbor::write(&mut out, p, true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::{self, DecodeOptions};

    fn make_credential() -> MakeCredentialRequest {
        MakeCredentialRequest {
            client_data_hash: vec![1; 32],
            rp_id: "example.org".into(),
            rp_name: Some("Example".into()),
            user_id: vec![2; 16],
            user_name: Some("alice".into()),
            user_display_name: None,
            pub_key_cred_params: vec![
                ("public-key".into(), CoseAlgorithm::ML_DSA_87),
                ("public-key".into(), CoseAlgorithm::ES256),
            ],
            exclude_list: vec![Descriptor {
                kind: "public-key".into(),
                id: vec![3; 64],
            }],
            extensions: None,
            options: RequestOptions {
                rk: Some(true),
                ..Default::default()
            },
            pin_uv_auth_param: Some(PinUvAuthParam(vec![9; 32])),
            pin_uv_auth_protocol: Some(2),
            enterprise_attestation: None,
            attestation_formats_preference: vec![],
        }
    }

    #[test]
    fn requests_round_trip_through_canonical_cbor() {
        let req = make_credential();
        let bytes = encode_request(
            super::super::command::MAKE_CREDENTIAL,
            Some(&req.to_value()),
        );
        assert_eq!(bytes[0], 0x01);
        let value = cbor::from_slice(&bytes[1..], &DecodeOptions::CTAP2).unwrap();
        assert_eq!(MakeCredentialRequest::from_value(&value).unwrap(), req);
        assert!(
            !format!("{req:?}").contains("9, 9"),
            "pinUvAuthParam is redacted"
        );

        let ga = GetAssertionRequest {
            rp_id: "example.org".into(),
            client_data_hash: vec![4; 32],
            allow_list: req.exclude_list.clone(),
            extensions: None,
            options: RequestOptions {
                up: Some(false),
                ..Default::default()
            },
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
        };
        let value = cbor::from_slice(
            &cbor::to_canonical_vec(&ga.to_value()),
            &DecodeOptions::CTAP2,
        )
        .unwrap();
        assert_eq!(GetAssertionRequest::from_value(&value).unwrap(), ga);
    }

    #[test]
    fn bad_members_are_named() {
        let mut v = make_credential().to_value();
        if let Value::Map(entries) = &mut v {
            entries[0].1 = Value::bytes(vec![0; 31]);
        }
        let err = MakeCredentialRequest::from_value(&v).unwrap_err();
        assert!(
            err.to_string()
                .contains("0x01 (clientDataHash) must be a 32-byte byte string"),
            "{err}"
        );
    }
}
