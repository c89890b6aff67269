//! The session archive (会话内容存档, reference/wecom.md §7): chat messages WeCom archived for the corp,
//! forwarded to siyu in their decrypted JSON shape, and the rules auditors set over them.
//!
//! - [`message`]: one archived message read from WeCom's JSON (`msgid`, `action`, `from`, `tolist`,
//!   `roomid`, `msgtime`, `msgtype` and the object named after it), its conversation and its searchable text.
//! - [`behaviour`]: detectors for sensitive behaviours inside a message: phone numbers, links, QR-code links.
//! - [`rule`]: the rule kinds (sensitive words, sensitive behaviours, group anti-harassment) and their
//!   settings.

pub mod behaviour;
pub mod message;
pub mod rule;

pub use message::{Action, ArchivedMessage, ConversationKey, Party, party_of};
pub use rule::{AlertStatus, RuleConfig, RuleKind, Senders};
