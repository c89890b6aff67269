//! Callback crypto (WXBizMsgCrypt): signature, AES-256-CBC with 32-byte PKCS#7, receiveid check.
//!
//! The protocol is `reference/wecom.md` §5: `msg_signature = sha1_hex(join(sort([token, timestamp, nonce,
//! encrypt])))`; `encrypt = base64(AES-256-CBC(key, iv = key[..16], pkcs7_32(random16 ‖ u32be(len) ‖ msg ‖
//! receiveid)))`. Nothing here panics on untrusted input: every malformed value is a [`CryptoError`].

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use memchr::memmem;
use rand::RngCore as _;
use serde::Serialize;
use sha1::{Digest as _, Sha1};

/// WeCom's EncodingAESKeys have non-zero trailing bits, which the strict engine rejects.
const KEY_ENGINE: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));
/// The PKCS#7 block WeCom pads to (not the AES block of 16).
const PAD_BLOCK: usize = 32;
/// 16 random bytes and the big-endian u32 message length.
const HEADER_LEN: usize = 20;

/// Why a callback could not be verified or decrypted.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the EncodingAESKey must be 43 base64 characters decoding to 32 bytes")]
    InvalidKey,
    #[error("the msg_signature does not match")]
    InvalidSignature,
    #[error("the ciphertext is not valid base64")]
    InvalidBase64,
    #[error("the decrypted PKCS#7 padding is invalid")]
    InvalidPadding,
    #[error("the ciphertext or its message length field is inconsistent")]
    InvalidLength,
    #[error("the decrypted receiveid does not match this app's")]
    ReceiveIdMismatch,
    #[error("the decrypted message is not UTF-8")]
    InvalidUtf8,
    #[error("the callback body has no Encrypt field")]
    MissingEncrypt,
}

impl CryptoError {
    /// A stable snake_case code for logs, metrics and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidKey => "wecom_invalid_aes_key",
            Self::InvalidSignature => "wecom_bad_signature",
            Self::InvalidBase64 => "wecom_bad_base64",
            Self::InvalidPadding => "wecom_bad_padding",
            Self::InvalidLength => "wecom_bad_length",
            Self::ReceiveIdMismatch => "wecom_receive_id_mismatch",
            Self::InvalidUtf8 => "wecom_bad_utf8",
            Self::MissingEncrypt => "wecom_missing_encrypt",
        }
    }
}

/// One app's callback configuration: Token, EncodingAESKey and receiveid (corpid, or suiteid for a suite).
#[derive(Clone)]
pub struct CallbackCrypto {
    token: String,
    cipher: Aes256,
    iv: [u8; 16],
    receive_id: String,
}

impl fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackCrypto")
            .field("token", &"<redacted>")
            .field("key", &"<redacted>")
            .field("receive_id", &self.receive_id)
            .finish()
    }
}

/// An encrypted, signed callback, as WeCom would POST it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncryptedMessage {
    pub encrypt: String,
    pub msg_signature: String,
    pub timestamp: String,
    pub nonce: String,
}

impl EncryptedMessage {
    /// The POST body WeCom sends to a callback URL (the signature travels in the query string).
    pub fn to_xml(&self, to_user_name: &str, agent_id: &str) -> String {
        let mut xml = String::with_capacity(self.encrypt.len() + to_user_name.len() + agent_id.len() + 128);
        xml.push_str("<xml><ToUserName>");
        push_cdata(&mut xml, to_user_name);
        xml.push_str("</ToUserName><Encrypt>");
        push_cdata(&mut xml, &self.encrypt);
        xml.push_str("</Encrypt><AgentID>");
        push_cdata(&mut xml, agent_id);
        xml.push_str("</AgentID></xml>");
        xml
    }

    /// The passive-reply form (an app answering a callback with an encrypted message).
    pub fn to_reply_xml(&self) -> String {
        let mut xml = String::with_capacity(self.encrypt.len() + 160);
        xml.push_str("<xml><Encrypt>");
        push_cdata(&mut xml, &self.encrypt);
        xml.push_str("</Encrypt><MsgSignature>");
        push_cdata(&mut xml, &self.msg_signature);
        xml.push_str("</MsgSignature><TimeStamp>");
        xml.push_str(&self.timestamp);
        xml.push_str("</TimeStamp><Nonce>");
        push_cdata(&mut xml, &self.nonce);
        xml.push_str("</Nonce></xml>");
        xml
    }
}

fn push_cdata(out: &mut String, value: &str) {
    out.push_str("<![CDATA[");
    out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

impl CallbackCrypto {
    /// Builds the crypto from the console's Token, 43-character EncodingAESKey and the receiveid.
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != 43 {
            return Err(CryptoError::InvalidKey);
        }
        let mut padded = [0u8; 44];
        padded[..43].copy_from_slice(encoding_aes_key.as_bytes());
        padded[43] = b'=';
        let mut key = [0u8; 33];
        let len = KEY_ENGINE.decode_slice(padded, &mut key).map_err(|_| CryptoError::InvalidKey)?;
        let key = key.get(..len).filter(|k| k.len() == 32).ok_or(CryptoError::InvalidKey)?;
        let cipher = Aes256::new_from_slice(key).map_err(|_| CryptoError::InvalidKey)?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&key[..16]);
        Ok(Self { token: token.to_owned(), cipher, iv, receive_id: receive_id.to_owned() })
    }

    /// The receiveid decrypted messages must carry.
    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// `sha1_hex` of the lexicographically sorted token, timestamp, nonce and ciphertext, concatenated.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        hex::encode(self.digest(timestamp, nonce, encrypted))
    }

    fn digest(&self, timestamp: &str, nonce: &str, encrypted: &str) -> [u8; 20] {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypted];
        parts.sort_unstable();
        let mut hasher = Sha1::new();
        for part in parts {
            hasher.update(part.as_bytes());
        }
        hasher.finalize().into()
    }

    /// Checks `msg_signature` in constant time (hex case-insensitively).
    pub fn verify_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypted: &str,
    ) -> Result<(), CryptoError> {
        let mut expected = [0u8; 40];
        hex::encode_to_slice(self.digest(timestamp, nonce, encrypted), &mut expected)
            .map_err(|_| CryptoError::InvalidSignature)?;
        let given = msg_signature.as_bytes();
        if given.len() != expected.len() {
            return Err(CryptoError::InvalidSignature);
        }
        let diff = expected.iter().zip(given).fold(0u8, |acc, (e, g)| acc | (e ^ g.to_ascii_lowercase()));
        if diff == 0 { Ok(()) } else { Err(CryptoError::InvalidSignature) }
    }

    /// The GET URL check: verifies the signature over `echostr` (already URL-decoded) and returns the
    /// plaintext to answer with.
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, CryptoError> {
        self.verify_signature(msg_signature, timestamp, nonce, echostr)?;
        self.decrypt(echostr)
    }

    /// A POSTed callback: `body` is the XML `<xml>…<Encrypt>…</Encrypt>…</xml>` or the JSON
    /// `{"encrypt": "…"}` form. Verifies the signature over the Encrypt value and returns the plaintext.
    pub fn decrypt_message(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<String, CryptoError> {
        let encrypted = extract_encrypt(body).ok_or(CryptoError::MissingEncrypt)?;
        self.verify_signature(msg_signature, timestamp, nonce, &encrypted)?;
        self.decrypt(&encrypted)
    }

    /// Decrypts a base64 ciphertext without checking any signature; validates the padding, the length field
    /// and the receiveid.
    pub fn decrypt(&self, encrypted_b64: &str) -> Result<String, CryptoError> {
        let mut buf =
            base64_simd::STANDARD.decode_to_vec(encrypted_b64.as_bytes()).map_err(|_| CryptoError::InvalidBase64)?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CryptoError::InvalidLength);
        }
        cbc::Decryptor::<Aes256>::inner_iv_init(self.cipher.clone(), &self.iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::InvalidLength)?;
        let pad = usize::from(buf.last().copied().unwrap_or(0));
        if pad == 0 || pad > PAD_BLOCK || pad > buf.len() {
            return Err(CryptoError::InvalidPadding);
        }
        let content_end = buf.len() - pad;
        if buf[content_end..].iter().any(|&b| usize::from(b) != pad) {
            return Err(CryptoError::InvalidPadding);
        }
        let len_field = buf.get(16..HEADER_LEN).ok_or(CryptoError::InvalidLength)?;
        let msg_len = u32::from_be_bytes([len_field[0], len_field[1], len_field[2], len_field[3]]) as usize;
        let msg_end =
            HEADER_LEN.checked_add(msg_len).filter(|&end| end <= content_end).ok_or(CryptoError::InvalidLength)?;
        if &buf[msg_end..content_end] != self.receive_id.as_bytes() {
            return Err(CryptoError::ReceiveIdMismatch);
        }
        buf.copy_within(HEADER_LEN..msg_end, 0);
        buf.truncate(msg_len);
        String::from_utf8(buf).map_err(|_| CryptoError::InvalidUtf8)
    }

    /// Encrypts with a fresh random 16-byte prefix.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut random = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut random);
        self.encrypt_with_random(plaintext, &random)
    }

    /// Encrypts with the given 16-byte prefix (deterministic, for tests and fixtures).
    ///
    /// A plaintext over 4 GiB cannot be framed; its length field saturates (WeCom caps bodies far below).
    pub fn encrypt_with_random(&self, plaintext: &str, random: &[u8; 16]) -> String {
        let content_len = HEADER_LEN + plaintext.len() + self.receive_id.len();
        let pad = PAD_BLOCK - content_len % PAD_BLOCK;
        let mut buf = Vec::with_capacity(content_len + pad);
        buf.extend_from_slice(random);
        buf.extend_from_slice(&u32::try_from(plaintext.len()).unwrap_or(u32::MAX).to_be_bytes());
        buf.extend_from_slice(plaintext.as_bytes());
        buf.extend_from_slice(self.receive_id.as_bytes());
        // pad is 1..=32, so the cast is lossless.
        buf.resize(content_len + pad, pad as u8);
        let total = buf.len();
        match cbc::Encryptor::<Aes256>::inner_iv_init(self.cipher.clone(), &self.iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, total)
        {
            Ok(ciphertext) => STANDARD.encode(ciphertext),
            // Unreachable: the buffer is a whole number of 32-byte blocks.
            Err(_) => String::new(),
        }
    }

    /// Encrypts and signs `plaintext` as WeCom would push it.
    pub fn encrypt_message(&self, plaintext: &str, timestamp: &str, nonce: &str) -> EncryptedMessage {
        let encrypt = self.encrypt(plaintext);
        let msg_signature = self.signature(timestamp, nonce, &encrypt);
        EncryptedMessage { encrypt, msg_signature, timestamp: timestamp.to_owned(), nonce: nonce.to_owned() }
    }
}

/// The `Encrypt` value of a POSTed body, XML or JSON.
fn extract_encrypt(body: &str) -> Option<Cow<'_, str>> {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct JsonBody<'a> {
            #[serde(borrow, alias = "Encrypt")]
            encrypt: Option<Cow<'a, str>>,
        }
        return serde_json::from_str::<JsonBody<'_>>(trimmed).ok()?.encrypt;
    }
    const OPEN: &str = "<Encrypt>";
    static OPEN_TAG: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(OPEN));
    static CLOSE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("</Encrypt>"));
    let start = OPEN_TAG.find(trimmed.as_bytes())? + OPEN.len();
    let rest = trimmed.get(start..)?;
    // The value is base64 (about 700 bytes): a vectorised search for the closing tag, not a Two-Way scan.
    let inner = rest.get(..CLOSE.find(rest.as_bytes())?)?.trim();
    let value = inner.strip_prefix("<![CDATA[").and_then(|v| v.strip_suffix("]]>")).unwrap_or(inner);
    Some(Cow::Borrowed(value))
}

#[cfg(test)]
mod tests;
