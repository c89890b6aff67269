//! Typed requests and replies of the WeCom endpoints siyu uses (reference/wecom.md §4), as methods on
//! [`crate::Client`]. Replies omit `errcode`/`errmsg` (the client checks them); unknown fields are ignored and
//! missing optional ones default, so a WeCom that adds fields does not break us.

mod common;
mod contacts;
mod group_welcome;
mod groups;
mod mass;
mod media;
mod message;
mod moment_results;
mod moments;
mod staff;
mod tags;
mod transfer;
mod ways;
mod welcome;

pub use common::Text;
#[cfg(test)]
pub(crate) use common::test_support;
pub use contacts::*;
pub use group_welcome::*;
pub use groups::*;
pub use mass::*;
pub use media::*;
pub use message::*;
pub use moment_results::*;
pub use moments::*;
pub use staff::*;
pub use tags::*;
pub use transfer::*;
pub use ways::*;
pub use welcome::*;
