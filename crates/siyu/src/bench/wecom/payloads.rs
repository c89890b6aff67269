//! The callbacks both sides decrypt: `n` decrypted events of reference/wecom.md §6 (mostly
//! `add_external_contact` with `State` and `WelcomeCode`, some edits and deletions, group updates with a
//! `MemChangeList`, tag changes), each encrypted and signed with `CallbackCrypto::encrypt_message` and wrapped
//! in the POST body WeCom sends (`EncryptedMessage::to_xml`), written one JSON object a line
//! (`{msg_signature, timestamp, nonce, body}`) to a file that siyu and the Python peer both read.
//!
//! The events are drawn from a seeded generator, so the same size and seed give the same events; the
//! ciphertexts differ from run to run (`encrypt_message` draws a fresh 16-byte prefix each time).

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use siyu_wecom::crypto::CallbackCrypto;

/// The callback configuration of the benchmark's corp: what an admin pastes into WeCom's console.
pub const TOKEN: &str = "siyuBench2026Token";
pub const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
pub const CORP_ID: &str = "wwb3c0a1d2e4f56789";
const AGENT_ID: &str = "1000002";
/// `CreateTime` of the first event (2026-12-01 00:00 UTC); the rest follow a few per second.
const FIRST_TIME: i64 = 1_796_083_200;
const STAFF: [&str; 12] = [
    "zhangsan", "lisi", "wangwu", "zhaoliu", "sunqi", "zhouba", "wujiu", "zhengshi", "chenxi", "linyue", "heyu",
    "guoqing",
];

/// One POST as WeCom sends it: the query's signature, timestamp and nonce, and the XML body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payload {
    pub msg_signature: String,
    pub timestamp: String,
    pub nonce: String,
    pub body: String,
}

/// The file written for the run and what it holds.
pub struct Written {
    pub path: PathBuf,
    pub payloads: Vec<Payload>,
    pub bytes: u64,
    /// Callbacks carrying a welcome code.
    pub welcome: usize,
}

/// Generates `n` callbacks with `seed`, encrypts them and writes `dir/callbacks-{n}-{seed}.jsonl`.
pub fn write(dir: &Path, n: usize, seed: u64) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("callbacks-{n}-{seed}.jsonl"));
    let crypto = CallbackCrypto::new(TOKEN, AES_KEY, CORP_ID).map_err(|e| anyhow::anyhow!("bench key: {e}"))?;
    let bar = super::bar(n as u64, "callbacks");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = BufWriter::new(std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?);
    let (mut payloads, mut welcome) = (Vec::with_capacity(n), 0);
    for i in 0..n {
        let create_time = FIRST_TIME + i as i64 / 4;
        let event = event(&mut rng, create_time);
        welcome += usize::from(event.contains("<WelcomeCode>"));
        let timestamp = create_time.to_string();
        let nonce = rng.gen_range(100_000_000u64..10_000_000_000).to_string();
        let message = crypto.encrypt_message(&event, &timestamp, &nonce);
        let payload = Payload {
            body: message.to_xml(CORP_ID, AGENT_ID),
            msg_signature: message.msg_signature,
            timestamp: message.timestamp,
            nonce: message.nonce,
        };
        serde_json::to_writer(&mut out, &payload)?;
        out.write_all(b"\n")?;
        payloads.push(payload);
        if i % 1024 == 0 {
            bar.set_position(i as u64);
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    let bytes = std::fs::metadata(&path)?.len();
    Ok(Written { path, payloads, bytes, welcome })
}

/// One decrypted event: 70 % customers added (State on nine in ten, WelcomeCode on nineteen in twenty),
/// 8 % edited, 6 % deleted by the staff (one in five after a transfer), 3 % deleting the staff, 9 % group
/// updates (members joining or leaving, with their list and versions), 4 % tag changes.
fn event(rng: &mut StdRng, create_time: i64) -> String {
    let mut xml = format!(
        "<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    );
    let staff = STAFF[rng.gen_range(0..STAFF.len())];
    let roll = rng.gen_range(0..100u32);
    if roll < 87 {
        let (change, extra) = match roll {
            0..70 => ("add_external_contact", add_fields(rng)),
            70..78 => ("edit_external_contact", String::new()),
            78..84 if rng.gen_ratio(1, 5) => {
                ("del_external_contact", "<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>".to_string())
            }
            78..84 => ("del_external_contact", String::new()),
            _ => ("del_follow_user", String::new()),
        };
        let _ = write!(
            xml,
            "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{change}]]></ChangeType>\
             <UserID><![CDATA[{staff}]]></UserID><ExternalUserID><![CDATA[{}]]></ExternalUserID>{extra}",
            external_userid(rng)
        );
    } else if roll < 96 {
        group_update(rng, &mut xml);
    } else {
        let change = ["create", "update", "delete"][rng.gen_range(0..3)];
        let kind = if rng.gen_ratio(1, 4) { "tag_group" } else { "tag" };
        let _ = write!(
            xml,
            "<Event><![CDATA[change_external_tag]]></Event><Id><![CDATA[et{}]]></Id>\
             <TagType><![CDATA[{kind}]]></TagType><ChangeType><![CDATA[{change}]]></ChangeType>",
            token(rng, 28)
        );
    }
    xml.push_str("</xml>");
    xml
}

/// `State` (a channel code's) and `WelcomeCode` of an added customer.
fn add_fields(rng: &mut StdRng) -> String {
    let mut out = String::new();
    if rng.gen_ratio(9, 10) {
        let channels = ["qr-store", "live", "mini-program", "moments", "sms", "poster"];
        let channel = channels[rng.gen_range(0..channels.len())];
        let _ = write!(out, "<State><![CDATA[{channel}-{}]]></State>", rng.gen_range(1..400));
    }
    if rng.gen_ratio(19, 20) {
        let _ = write!(out, "<WelcomeCode><![CDATA[{}]]></WelcomeCode>", token(rng, 43));
    }
    out
}

fn group_update(rng: &mut StdRng, xml: &mut String) {
    let joined = rng.gen_bool(0.6);
    let members = rng.gen_range(1..=3);
    let list: String = (0..members).map(|_| format!("<Item><![CDATA[{}]]></Item>", external_userid(rng))).collect();
    let scene = if joined {
        format!(
            "<UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>{}</JoinScene>",
            [0, 3][rng.gen_range(0..2)]
        )
    } else {
        format!("<UpdateDetail><![CDATA[del_member]]></UpdateDetail><QuitScene>{}</QuitScene>", rng.gen_range(0..2))
    };
    let _ = write!(
        xml,
        "<Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wr{}]]></ChatId>\
         <ChangeType><![CDATA[update]]></ChangeType>{scene}<MemChangeCnt>{members}</MemChangeCnt>\
         <MemChangeList>{list}</MemChangeList><LastMemVer><![CDATA[{}]]></LastMemVer>\
         <CurMemVer><![CDATA[{}]]></CurMemVer>",
        token(rng, 30),
        hex32(rng),
        hex32(rng)
    );
}

/// An external_userid as WeCom spells them: `wm` and 30 letters, digits, `-` or `_`.
fn external_userid(rng: &mut StdRng) -> String {
    format!("wm{}", token(rng, 30))
}

fn token(rng: &mut StdRng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len).map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())])).collect()
}

fn hex32(rng: &mut StdRng) -> String {
    format!("{:032x}", rng.r#gen::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_verifies_decrypts_and_parses() {
        let dir = std::env::temp_dir().join(format!("siyu-bench-wecom-{}", uuid::Uuid::now_v7()));
        let written = write(&dir, 500, 3).unwrap();
        let text = std::fs::read_to_string(&written.path).unwrap();
        let lines: Vec<Payload> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 500);
        let crypto = CallbackCrypto::new(TOKEN, AES_KEY, CORP_ID).unwrap();
        let mut keys = std::collections::HashSet::new();
        for p in &written.payloads {
            let plain = crypto.decrypt_message(&p.msg_signature, &p.timestamp, &p.nonce, &p.body).unwrap();
            let parsed = siyu_wecom::callback::parse(&plain).unwrap();
            assert!(!matches!(parsed.event, siyu_wecom::callback::CallbackEvent::Other { .. }), "{plain}");
            keys.insert(parsed.dedupe_key());
        }
        assert_eq!(keys.len(), 500, "every event is distinct");
        assert!(written.welcome > 250 && written.welcome < 400, "{}", written.welcome);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
