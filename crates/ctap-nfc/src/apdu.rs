//! ISO 7816-4 APDUs (§5.1): the four command cases in short and extended
//! form, parsed strictly (every length byte must match the bytes that
//! follow), and response APDUs (data, then SW1 SW2). Parsing never
//! allocates more than its input, and every malformed input is an
//! [`ApduError`], answered on a card with [`StatusWord::WRONG_LENGTH`].

use std::fmt;

/// Most data bytes a short APDU carries.
pub const SHORT_MAX_DATA: usize = 255;
/// Most response bytes a short APDU asks for (Le = 0x00).
pub const SHORT_MAX_NE: usize = 256;
/// Most data bytes an extended APDU carries.
pub const EXTENDED_MAX_DATA: usize = 65_535;
/// Most response bytes an extended APDU asks for (Le = 0x0000).
pub const EXTENDED_MAX_NE: usize = 65_536;

/// Short or extended length fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// One-byte Lc and Le.
    Short,
    /// Three-byte Lc (0x00 and two bytes) and two- or three-byte Le.
    Extended,
}

/// Why bytes are not a command APDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApduError {
    /// Fewer than the four header bytes.
    #[error("an APDU is at least 4 bytes (CLA INS P1 P2), got {len}")]
    TooShort {
        /// The length seen.
        len: usize,
    },
    /// The length bytes announce a body other than the one present.
    #[error("the APDU's length fields do not match its {len} bytes ({form})")]
    LengthMismatch {
        /// The APDU's length.
        len: usize,
        /// Which reading was tried.
        form: &'static str,
    },
    /// An extended Lc of zero (ISO 7816-4 forbids it).
    #[error("an extended APDU with Lc = 0")]
    ZeroExtendedLc,
    /// More data than the chosen encoding can carry.
    #[error("{len} data bytes do not fit a {encoding:?} APDU")]
    DataTooLong {
        /// The data length.
        len: usize,
        /// The encoding asked for.
        encoding: Encoding,
    },
    /// A response APDU shorter than its status word.
    #[error("a response APDU is at least 2 bytes (SW1 SW2), got {len}")]
    ResponseTooShort {
        /// The length seen.
        len: usize,
    },
}

impl ApduError {
    /// A stable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApduError::TooShort { .. } => "apdu_too_short",
            ApduError::LengthMismatch { .. } => "apdu_length_mismatch",
            ApduError::ZeroExtendedLc => "apdu_zero_lc",
            ApduError::DataTooLong { .. } => "apdu_data_too_long",
            ApduError::ResponseTooShort { .. } => "apdu_response_too_short",
        }
    }
}

/// A command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandApdu {
    /// Class byte (0x10 set: more of a chained command follows).
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (empty in cases 1 and 2).
    pub data: Vec<u8>,
    /// Expected response length Ne (`None`: no Le field, cases 1 and 3).
    pub ne: Option<usize>,
    /// How the lengths were (or will be) written.
    pub encoding: Encoding,
}

/// CLA bit of ISO 7816-4 command chaining: not the last command of a chain.
pub const CLA_CHAINING: u8 = 0x10;

impl CommandApdu {
    /// A command with data and an expected response length, written in the
    /// given encoding.
    pub fn new(
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: Vec<u8>,
        ne: Option<usize>,
        encoding: Encoding,
    ) -> Self {
        CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data,
            ne,
            encoding,
        }
    }

    /// Parses a command APDU (ISO 7816-4 §5.1, cases 1, 2S, 3S, 4S, 2E, 3E, 4E).
    pub fn parse(raw: &[u8]) -> Result<CommandApdu, ApduError> {
        let [cla, ins, p1, p2, body @ ..] = raw else {
            return Err(ApduError::TooShort { len: raw.len() });
        };
        let header = |data: &[u8], ne, encoding| CommandApdu {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
            data: data.to_vec(),
            ne,
            encoding,
        };
        let mismatch = |form| ApduError::LengthMismatch {
            len: raw.len(),
            form,
        };
        let short_ne = |b: u8| if b == 0 { SHORT_MAX_NE } else { usize::from(b) };
        let ext_ne = |hi: u8, lo: u8| match u16::from_be_bytes([hi, lo]) {
            0 => EXTENDED_MAX_NE,
            n => usize::from(n),
        };
        match body {
            // Case 1.
            [] => Ok(header(&[], None, Encoding::Short)),
            // Case 2S.
            [le] => Ok(header(&[], Some(short_ne(*le)), Encoding::Short)),
            // Case 2E: 00 Le Le.
            [0, hi, lo] => Ok(header(&[], Some(ext_ne(*hi, *lo)), Encoding::Extended)),
            // Extended cases 3E and 4E: 00 Lc Lc data [Le Le].
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if lc == 0 {
                    return Err(ApduError::ZeroExtendedLc);
                }
                match (rest.get(..lc), rest.len().checked_sub(lc)) {
                    (Some(data), Some(0)) => Ok(header(data, None, Encoding::Extended)),
                    (Some(data), Some(2)) => {
                        let (Some(&h), Some(&l)) = (rest.get(lc), rest.get(lc + 1)) else {
                            return Err(mismatch("extended"));
                        };
                        Ok(header(data, Some(ext_ne(h, l)), Encoding::Extended))
                    }
                    _ => Err(mismatch("extended")),
                }
            }
            // Short cases 3S and 4S: Lc data [Le].
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                if lc == 0 {
                    // A short Lc of 0 is not a length ISO 7816-4 allows.
                    return Err(mismatch("short"));
                }
                match (rest.get(..lc), rest.len().checked_sub(lc)) {
                    (Some(data), Some(0)) => Ok(header(data, None, Encoding::Short)),
                    (Some(data), Some(1)) => {
                        let le = rest.get(lc).copied().unwrap_or(0);
                        Ok(header(data, Some(short_ne(le)), Encoding::Short))
                    }
                    _ => Err(mismatch("short")),
                }
            }
        }
    }

    /// Whether more commands of a chain follow this one.
    pub fn is_chained(&self) -> bool {
        self.cla & CLA_CHAINING != 0
    }

    /// The class byte without the chaining bit.
    pub fn base_cla(&self) -> u8 {
        self.cla & !CLA_CHAINING
    }

    /// Writes the APDU in its encoding.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        match self.encoding {
            Encoding::Short => {
                if self.data.len() > SHORT_MAX_DATA {
                    return Err(ApduError::DataTooLong {
                        len: self.data.len(),
                        encoding: Encoding::Short,
                    });
                }
                if !self.data.is_empty() {
                    out.push(u8::try_from(self.data.len()).unwrap_or(0));
                    out.extend_from_slice(&self.data);
                }
                if let Some(ne) = self.ne {
                    // 256 (and anything larger, which a short Le cannot say) is 0x00.
                    out.push(u8::try_from(ne).ok().filter(|_| ne < 256).unwrap_or(0));
                }
            }
            Encoding::Extended => {
                let lc = u16::try_from(self.data.len()).map_err(|_| ApduError::DataTooLong {
                    len: self.data.len(),
                    encoding: Encoding::Extended,
                })?;
                let le = |ne: usize| {
                    u16::try_from(ne)
                        .ok()
                        .filter(|_| ne < EXTENDED_MAX_NE)
                        .unwrap_or(0)
                        .to_be_bytes()
                };
                out.push(0);
                if lc > 0 {
                    out.extend_from_slice(&lc.to_be_bytes());
                    out.extend_from_slice(&self.data);
                }
                if let Some(ne) = self.ne {
                    out.extend_from_slice(&le(ne));
                }
                if lc == 0 && self.ne.is_none() {
                    // Case 1 has no extended form.
                    out.pop();
                }
            }
        }
        Ok(out)
    }
}

/// A status word (SW1 SW2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// Success.
    pub const OK: StatusWord = StatusWord(0x9000);
    /// NFCCTAP: the message is still being processed; data is one status byte.
    pub const NFCCTAP_UPDATE: StatusWord = StatusWord(0x9100);
    /// Wrong length (also: a malformed APDU).
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// The last command of a chain was expected.
    pub const LAST_COMMAND_EXPECTED: StatusWord = StatusWord(0x6883);
    /// Command chaining not supported.
    pub const CHAINING_NOT_SUPPORTED: StatusWord = StatusWord(0x6884);
    /// Conditions of use not satisfied (nothing to answer, applet not selected).
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// Wrong data.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// File or application not found (SELECT of another AID).
    pub const NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// Incorrect P1 or P2.
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6A86);
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);

    /// 61xx: `remaining` more response bytes wait for GET RESPONSE (xx = 00
    /// means 256 or more).
    pub fn more_data(remaining: usize) -> StatusWord {
        StatusWord(
            0x6100
                | u16::try_from(remaining)
                    .ok()
                    .filter(|&n| n < 256)
                    .unwrap_or(0),
        )
    }

    /// SW1.
    pub fn sw1(self) -> u8 {
        self.0.to_be_bytes()[0]
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        self.0.to_be_bytes()[1]
    }

    /// Whether this is 61xx, and how many bytes it announces (00 = 256).
    pub fn more_data_len(self) -> Option<usize> {
        (self.sw1() == 0x61).then(|| match self.sw2() {
            0 => 256,
            n => usize::from(n),
        })
    }

    /// A name for traces.
    pub fn name(self) -> &'static str {
        match self {
            StatusWord::OK => "OK",
            StatusWord::NFCCTAP_UPDATE => "UPDATE",
            StatusWord::WRONG_LENGTH => "WRONG_LENGTH",
            StatusWord::LAST_COMMAND_EXPECTED => "LAST_COMMAND_EXPECTED",
            StatusWord::CHAINING_NOT_SUPPORTED => "CHAINING_NOT_SUPPORTED",
            StatusWord::CONDITIONS_NOT_SATISFIED => "CONDITIONS_NOT_SATISFIED",
            StatusWord::WRONG_DATA => "WRONG_DATA",
            StatusWord::NOT_FOUND => "NOT_FOUND",
            StatusWord::WRONG_P1P2 => "WRONG_P1P2",
            StatusWord::INS_NOT_SUPPORTED => "INS_NOT_SUPPORTED",
            StatusWord::CLA_NOT_SUPPORTED => "CLA_NOT_SUPPORTED",
            sw if sw.sw1() == 0x61 => "MORE_DATA",
            _ => "error",
        }
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.0, self.name())
    }
}

/// A response APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseApdu {
    /// Response data.
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl ResponseApdu {
    /// A response.
    pub fn new(data: Vec<u8>, sw: StatusWord) -> Self {
        ResponseApdu { data, sw }
    }

    /// A status word alone.
    pub fn status(sw: StatusWord) -> Self {
        ResponseApdu {
            data: Vec::new(),
            sw,
        }
    }

    /// Splits data and status word.
    pub fn parse(raw: &[u8]) -> Result<ResponseApdu, ApduError> {
        let split = raw
            .len()
            .checked_sub(2)
            .ok_or(ApduError::ResponseTooShort { len: raw.len() })?;
        let (data, sw) = raw.split_at(split);
        let [sw1, sw2] = sw else {
            return Err(ApduError::ResponseTooShort { len: raw.len() });
        };
        Ok(ResponseApdu {
            data: data.to_vec(),
            sw: StatusWord(u16::from_be_bytes([*sw1, *sw2])),
        })
    }

    /// Data followed by SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.0.to_be_bytes());
        out
    }
}

/// The name of an instruction of the FIDO applet, for traces.
pub fn ins_name(cla: u8, ins: u8) -> &'static str {
    match (cla & !CLA_CHAINING, ins) {
        (_, crate::ins::SELECT) => "SELECT",
        (_, crate::ins::GET_RESPONSE) => "GET RESPONSE",
        (0x80, crate::ins::NFCCTAP_MSG) => "NFCCTAP_MSG",
        (0x80, crate::ins::NFCCTAP_GETRESPONSE) => "NFCCTAP_GETRESPONSE",
        (0x00, 0x01) => "U2F_REGISTER",
        (0x00, 0x02) => "U2F_AUTHENTICATE",
        (0x00, 0x03) => "U2F_VERSION",
        _ => "unknown",
    }
}

/// A one-line description of a command APDU for traces: instruction, CLA
/// chaining, encoding, Lc and Le ("NFCCTAP_MSG chained short Lc=255").
pub fn describe_command(raw: &[u8]) -> String {
    match CommandApdu::parse(raw) {
        Ok(c) => {
            let chained = if c.is_chained() { " chained" } else { "" };
            let form = match c.encoding {
                Encoding::Short => "short",
                Encoding::Extended => "extended",
            };
            let le = c.ne.map(|n| format!(" Le={n}")).unwrap_or_default();
            format!(
                "{}{chained} {form} CLA={:02X} P1={:02X} P2={:02X} Lc={}{le}",
                ins_name(c.cla, c.ins),
                c.cla,
                c.p1,
                c.p2,
                c.data.len()
            )
        }
        Err(e) => format!("malformed APDU: {e}"),
    }
}

/// A one-line description of a response APDU for traces ("SW=9000 (OK) 250 bytes").
pub fn describe_response(raw: &[u8]) -> String {
    match ResponseApdu::parse(raw) {
        Ok(r) => format!("SW={} {} bytes", r.sw, r.data.len()),
        Err(e) => format!("malformed response: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn parse(hex: &str) -> Result<CommandApdu, ApduError> {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        CommandApdu::parse(&bytes)
    }

    #[test]
    fn the_seven_cases() {
        // Case 1.
        let c = parse("00A40400").unwrap();
        assert_eq!((c.data.len(), c.ne, c.encoding), (0, None, Encoding::Short));
        // Case 2S, Le 00 = 256.
        let c = parse("00C0000000").unwrap();
        assert_eq!((c.ins, c.ne), (0xC0, Some(256)));
        // Case 3S: python-fido2's SELECT.
        let c = parse("00A4040008A0000006472F0001").unwrap();
        assert_eq!(c.data, crate::FIDO_AID);
        assert_eq!(c.ne, None);
        // Case 4S.
        let c = parse("801080000104FF").unwrap();
        assert_eq!((c.data.as_slice(), c.ne), (&[4u8][..], Some(255)));
        // Case 2E, Le 0000 = 65536.
        let c = parse("80110000000000").unwrap();
        assert_eq!((c.ne, c.encoding), (Some(65536), Encoding::Extended));
        // Case 3E.
        let c = parse("8010800000000104").unwrap();
        assert_eq!((c.data.as_slice(), c.ne), (&[4u8][..], None));
        // Case 4E.
        let c = parse("80108000000001040100").unwrap();
        assert_eq!((c.data.as_slice(), c.ne), (&[4u8][..], Some(256)));
        assert_eq!(c.encoding, Encoding::Extended);
    }

    #[test]
    fn malformed_lengths_are_errors() {
        assert_eq!(parse("00A404").unwrap_err().code(), "apdu_too_short");
        // Lc says 8, 7 bytes follow.
        assert_eq!(
            parse("00A4040008A0000006472F00").unwrap_err().code(),
            "apdu_length_mismatch"
        );
        // Lc 1 then two extra bytes: neither 3S nor 4S.
        assert_eq!(
            parse("8010800001040000").unwrap_err().code(),
            "apdu_length_mismatch"
        );
        // Extended Lc 0 followed by more bytes.
        assert_eq!(
            parse("801080000000000102").unwrap_err().code(),
            "apdu_zero_lc"
        );
        // Extended Lc 2, one byte present.
        assert_eq!(
            parse("80108000000002AA").unwrap_err().code(),
            "apdu_length_mismatch"
        );
        // Extended with one trailing byte (Le must be two).
        assert_eq!(
            parse("80108000000001AA00").unwrap_err().code(),
            "apdu_length_mismatch"
        );
        // 6 bytes: 00 then one byte is neither 2E nor 3E.
        assert!(parse("80108000000A").is_err());
    }

    #[test]
    fn encode_round_trips() {
        for (data_len, ne, enc) in [
            (0, None, Encoding::Short),
            (0, Some(256), Encoding::Short),
            (1, None, Encoding::Short),
            (255, Some(1), Encoding::Short),
            (0, Some(65536), Encoding::Extended),
            (1, None, Encoding::Extended),
            (7609, Some(65536), Encoding::Extended),
            (65535, Some(300), Encoding::Extended),
        ] {
            let c = CommandApdu::new(0x80, 0x10, 0x80, 0, vec![0xAB; data_len], ne, enc);
            let bytes = c.to_bytes().unwrap();
            assert_eq!(
                CommandApdu::parse(&bytes).unwrap(),
                c,
                "{data_len} {ne:?} {enc:?}"
            );
        }
        let too_long = CommandApdu::new(0x80, 0x10, 0, 0, vec![0; 256], None, Encoding::Short);
        assert_eq!(
            too_long.to_bytes().unwrap_err().code(),
            "apdu_data_too_long"
        );
    }

    #[test]
    fn responses() {
        let r = ResponseApdu::parse(&[0x01, 0x02, 0x61, 0x00]).unwrap();
        assert_eq!(r.data, vec![1, 2]);
        assert_eq!(r.sw.more_data_len(), Some(256));
        assert_eq!(StatusWord::more_data(300), StatusWord(0x6100));
        assert_eq!(StatusWord::more_data(17), StatusWord(0x6111));
        assert_eq!(
            ResponseApdu::parse(&[0x90]).unwrap_err().code(),
            "apdu_response_too_short"
        );
        assert_eq!(r.to_bytes(), vec![1, 2, 0x61, 0]);
        assert_eq!(StatusWord::OK.to_string(), "9000 (OK)");
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            describe_command(&[0x90, 0x10, 0x80, 0, 2, 1, 2]),
            "NFCCTAP_MSG chained short CLA=90 P1=80 P2=00 Lc=2"
        );
        assert_eq!(
            describe_response(&[0x61, 0x20]),
            "SW=6120 (MORE_DATA) 0 bytes"
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            if let Ok(c) = CommandApdu::parse(&bytes) {
                proptest::prop_assert!(c.data.len() <= bytes.len());
                proptest::prop_assert_eq!(c.to_bytes().unwrap(), bytes);
            }
        }
    }
}
