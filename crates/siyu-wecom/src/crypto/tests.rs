use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockEncryptMut, InnerIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;

use super::{CallbackCrypto, CryptoError};

const A_TOKEN: &str = "QDG6eK";
const A_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const A_CORP: &str = "wx5823bf96d3bd56c7";

const B_TOKEN: &str = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
const B_KEY: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
const B_CORP: &str = "ww1436e0e65a779aee";

fn vector_a() -> CallbackCrypto {
    CallbackCrypto::new(A_TOKEN, A_KEY, A_CORP).unwrap()
}

fn vector_b() -> CallbackCrypto {
    CallbackCrypto::new(B_TOKEN, B_KEY, B_CORP).unwrap()
}

/// Encrypts `plain` as is (no framing, no padding): for building malformed ciphertexts.
fn raw_encrypt(crypto: &CallbackCrypto, plain: &[u8]) -> String {
    let mut buf = plain.to_vec();
    let len = buf.len();
    let out = cbc::Encryptor::<Aes256>::inner_iv_init(crypto.cipher.clone(), &crypto.iv.into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, len)
        .unwrap();
    STANDARD.encode(out)
}

/// A framed plaintext: 16 random bytes, length field, message, receiveid, then `pad` bytes of `pad_byte`.
fn framed(len_field: u32, msg: &[u8], receive_id: &str, pad: usize, pad_byte: u8) -> Vec<u8> {
    let mut buf = vec![7u8; 16];
    buf.extend_from_slice(&len_field.to_be_bytes());
    buf.extend_from_slice(msg);
    buf.extend_from_slice(receive_id.as_bytes());
    buf.extend(std::iter::repeat_n(pad_byte, pad));
    buf
}

#[test]
fn vector_a_key_decodes_to_the_documented_aes_key() {
    assert_eq!(hex::encode(vector_a().iv), "8d69989bbaabe67328014c194631ad07");
    assert_eq!(hex::encode(vector_b().iv), "eaa91d32babaf274ca76ece72583b503");
}

#[test]
fn vector_a_url_verification_returns_the_echo_plaintext() {
    let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    let plain =
        vector_a().verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", echostr).unwrap();
    assert_eq!(plain, "1616140317555161061");
}

#[test]
fn vector_a_xml_message_decrypts_to_the_exact_plaintext() {
    let body = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>";
    let plain = vector_a()
        .decrypt_message("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", body)
        .unwrap();
    let expected = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";
    assert_eq!(plain, expected);
    assert_eq!(plain.len(), 284);
}

#[test]
fn vector_b_url_verification_returns_the_echo_plaintext() {
    let echostr = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==";
    let plain =
        vector_b().verify_url("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", echostr).unwrap();
    assert_eq!(plain, "1288432023552776189");
}

#[test]
fn vector_b_xml_message_decrypts_utf8_content() {
    let encrypt = "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+";
    let body = format!(
        "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
    );
    let plain = vector_b()
        .decrypt_message("0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914", &body)
        .unwrap();
    assert_eq!(
        plain,
        "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
    );
}

const B_JSON_BODY: &str = r#"{ "tousername": "wx5823bf96d3bd56c7", "encrypt": "cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxbwf0fUPsFvwqR0U0fgiJNEA5Y30F2MoI2S7vv3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3v8olJGZRLnRdVKIivixmX/eQpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj06Wa5E3Tvg4twjWp39KPfOdRte6P1T4JU=", "agentid": 218 }"#;

#[test]
fn vector_b_json_callback_decrypts_byte_exact() {
    let plain = vector_b()
        .decrypt_message("e3647471e395139e2308c1fa963f2d648a00b90e", "1409659813", "1372623149", B_JSON_BODY)
        .unwrap();
    assert_eq!(
        plain,
        r#"{ "ToUserName": "wx5823bf96d3bd56c7", "FromUserName": :mycreate", "CreateTime": 1409659813, "MsgType": "text", "Content": "hello", "MsgId": 4561255354251345929, "AgentID": 218}"#
    );
}

#[test]
fn json_vector_does_not_verify_with_key_a() {
    let a = CallbackCrypto::new(B_TOKEN, A_KEY, B_CORP).unwrap();
    let err = a.decrypt_message("e3647471e395139e2308c1fa963f2d648a00b90e", "1409659813", "1372623149", B_JSON_BODY);
    assert!(err.is_err());
}

#[test]
fn encrypt_then_decrypt_round_trips() {
    let crypto = vector_a();
    for msg in ["", "a", "你好, world", &"x".repeat(1000)] {
        assert_eq!(crypto.decrypt(&crypto.encrypt(msg)).unwrap(), msg);
    }
}

#[test]
fn encrypted_message_xml_decrypts_with_its_signature() {
    let crypto = vector_b();
    let msg = crypto.encrypt_message("<xml>hi</xml>", "1700000000", "nonce1");
    let body = msg.to_xml("ww]]>corp", "1000002");
    assert!(body.contains("<![CDATA[ww]]]]><![CDATA[>corp]]>"));
    let plain = crypto.decrypt_message(&msg.msg_signature, &msg.timestamp, &msg.nonce, &body).unwrap();
    assert_eq!(plain, "<xml>hi</xml>");
    let reply = msg.to_reply_xml();
    assert_eq!(crypto.decrypt_message(&msg.msg_signature, "1700000000", "nonce1", &reply).unwrap(), "<xml>hi</xml>");
}

#[test]
fn encrypt_with_random_is_deterministic() {
    let crypto = vector_a();
    let random = *b"c41b64491c2468d0";
    assert_eq!(crypto.encrypt_with_random("hello", &random), crypto.encrypt_with_random("hello", &random));
    assert_eq!(crypto.decrypt(&crypto.encrypt_with_random("hello", &random)).unwrap(), "hello");
}

#[test]
fn tampered_signature_is_rejected() {
    let crypto = vector_a();
    let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    for sig in ["5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4", "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd", "", "zz"] {
        assert_eq!(crypto.verify_url(sig, "1409659589", "263014780", echostr), Err(CryptoError::InvalidSignature));
    }
    assert_eq!(
        crypto.verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659590", "263014780", echostr),
        Err(CryptoError::InvalidSignature)
    );
}

#[test]
fn uppercase_hex_signature_is_accepted() {
    let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    let sig = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3".to_ascii_uppercase();
    assert!(vector_a().verify_url(&sig, "1409659589", "263014780", echostr).is_ok());
}

#[test]
fn wrong_receive_id_is_rejected() {
    let other = CallbackCrypto::new(A_TOKEN, A_KEY, "wwSomeoneElse").unwrap();
    let ciphertext = other.encrypt("hello");
    assert_eq!(vector_a().decrypt(&ciphertext), Err(CryptoError::ReceiveIdMismatch));
}

#[test]
fn padding_of_zero_or_over_thirty_two_is_rejected() {
    let crypto = vector_a();
    // 20 + 5 + 18 = 43 bytes of content; 21 more bytes make 64.
    let zero = framed(5, b"hello", A_CORP, 21, 0);
    assert_eq!(crypto.decrypt(&raw_encrypt(&crypto, &zero)), Err(CryptoError::InvalidPadding));
    let mut big = framed(5, b"hello", A_CORP, 21, 33);
    assert_eq!(crypto.decrypt(&raw_encrypt(&crypto, &big)), Err(CryptoError::InvalidPadding));
    big.truncate(big.len() - 1);
    big.push(21);
    assert_eq!(crypto.decrypt(&raw_encrypt(&crypto, &big)), Err(CryptoError::InvalidPadding), "uneven pad bytes");
    let good = framed(5, b"hello", A_CORP, 21, 21);
    assert_eq!(crypto.decrypt(&raw_encrypt(&crypto, &good)).unwrap(), "hello");
}

#[test]
fn length_field_beyond_the_buffer_is_rejected() {
    let crypto = vector_a();
    for len in [44, 1000, u32::MAX] {
        let plain = framed(len, b"hello", A_CORP, 21, 21);
        assert_eq!(crypto.decrypt(&raw_encrypt(&crypto, &plain)), Err(CryptoError::InvalidLength));
    }
    // Padding that eats into the 20-byte header.
    let short = framed(0, b"", "", 12, 12);
    assert_eq!(short.len(), 32);
    let mut short = short;
    short[31] = 20;
    short[12..].fill(20);
    assert_eq!(crypto.decrypt(&raw_encrypt(&crypto, &short)), Err(CryptoError::InvalidLength));
}

#[test]
fn invalid_utf8_message_is_rejected() {
    let crypto = vector_a();
    let plain = framed(2, &[0xff, 0xfe], A_CORP, 24, 24);
    assert_eq!(crypto.decrypt(&raw_encrypt(&crypto, &plain)), Err(CryptoError::InvalidUtf8));
}

#[test]
fn malformed_ciphertexts_are_errors() {
    let crypto = vector_a();
    assert_eq!(crypto.decrypt("not base64!"), Err(CryptoError::InvalidBase64));
    assert_eq!(crypto.decrypt(""), Err(CryptoError::InvalidLength));
    assert_eq!(crypto.decrypt(&STANDARD.encode([1u8; 15])), Err(CryptoError::InvalidLength));
    assert!(crypto.decrypt(&STANDARD.encode([1u8; 16])).is_err());
}

#[test]
fn bodies_without_encrypt_are_missing_encrypt() {
    let crypto = vector_a();
    for body in ["", "<xml></xml>", "<xml><Encrypt>abc", "{}", "{\"encrypt\": 5}", "{ not json"] {
        assert_eq!(crypto.decrypt_message("x", "1", "2", body), Err(CryptoError::MissingEncrypt), "{body}");
    }
}

#[test]
fn keys_of_the_wrong_shape_are_rejected() {
    assert_eq!(CallbackCrypto::new("t", "short", "c").unwrap_err(), CryptoError::InvalidKey);
    assert_eq!(CallbackCrypto::new("t", &"!".repeat(43), "c").unwrap_err(), CryptoError::InvalidKey);
    assert_eq!(CallbackCrypto::new("t", &format!("{}a", "é".repeat(21)), "c").unwrap_err(), CryptoError::InvalidKey);
}

#[test]
fn error_codes_are_stable_and_distinct() {
    let all = [
        CryptoError::InvalidKey,
        CryptoError::InvalidSignature,
        CryptoError::InvalidBase64,
        CryptoError::InvalidPadding,
        CryptoError::InvalidLength,
        CryptoError::ReceiveIdMismatch,
        CryptoError::InvalidUtf8,
        CryptoError::MissingEncrypt,
    ];
    let codes: std::collections::HashSet<_> = all.iter().map(CryptoError::code).collect();
    assert_eq!(codes.len(), all.len());
    assert_eq!(CryptoError::InvalidSignature.code(), "wecom_bad_signature");
}

#[test]
fn debug_output_hides_the_token_and_key() {
    let shown = format!("{:?}", vector_b());
    assert!(!shown.contains(B_TOKEN));
    assert!(shown.contains(B_CORP));
}

proptest! {
    #[test]
    fn decrypt_and_verify_never_panic_on_arbitrary_strings(s in ".*", sig in ".*", ts in ".*", nonce in ".*") {
        let crypto = vector_a();
        let _ = crypto.decrypt(&s);
        let _ = crypto.verify_url(&sig, &ts, &nonce, &s);
        let _ = crypto.decrypt_message(&sig, &ts, &nonce, &s);
        let _ = crypto.decrypt_message(&sig, &ts, &nonce, &format!("<xml><Encrypt>{s}</Encrypt></xml>"));
    }

    #[test]
    fn decrypt_never_panics_on_arbitrary_ciphertext_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let crypto = vector_a();
        let _ = crypto.decrypt(&STANDARD.encode(&bytes));
        let _ = crypto.decrypt(&raw_encrypt_padded(&crypto, &bytes));
    }

    #[test]
    fn encrypt_then_decrypt_round_trips_arbitrary_utf8(msg in any::<String>(), receive_id in "[a-zA-Z0-9]{0,24}") {
        let crypto = CallbackCrypto::new(B_TOKEN, B_KEY, &receive_id).unwrap();
        prop_assert_eq!(crypto.decrypt(&crypto.encrypt(&msg)).unwrap(), msg);
    }
}

/// Encrypts arbitrary bytes, zero-extended to whole blocks, so decryption sees attacker-chosen plaintext.
fn raw_encrypt_padded(crypto: &CallbackCrypto, bytes: &[u8]) -> String {
    let mut plain = bytes.to_vec();
    plain.resize(bytes.len().div_ceil(16).max(1) * 16, 0);
    raw_encrypt(crypto, &plain)
}
