//! The session archive: per-corp cursors, conversations and their messages (`messages`), sensitive-word
//! lists and rules (`rules`), and the alerts, statistics and daily digests of those rules (`alerts`).

mod alerts;
mod messages;
mod rules;

pub use alerts::{Alert, AlertQuery, Digest, MemberChange, NewAlert, OverdueReply, StaffRemoval, StaffStat};
pub use messages::{Conversation, ConversationQuery, ConversationUpsert, Cursor, MessageRow, NewMessage};
pub use rules::{RuleRow, WordList, WordRow};

/// The repository of archive data (`store.archive()`).
pub struct Archive<'a>(pub(crate) &'a crate::Store);

impl crate::Store {
    pub fn archive(&self) -> Archive<'_> {
        Archive(self)
    }
}
