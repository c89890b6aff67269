//! WeCom: connected corps and their callback routes, persisted callbacks, staff and department mappings, corp
//! tag ids, customer groups with members and member changes, relations ended, and the shared rate budget.

mod callbacks;
mod corps;
mod group_codes;
mod group_sops;
mod group_tags;
mod groups;
mod limits;
mod live_codes;
mod mass;
mod media;
mod moments;
mod notices;
mod staff;
mod tag_pushes;
mod transfers;

pub use callbacks::{CallbackRecord, NewCallback};
pub use corps::NewCorp;
pub use group_codes::{CodeJoin, GroupCodeStats, GroupFill};
pub use group_sops::{ClosedGroup, NewSopRun, SopGroup, SopRun};
pub use groups::{GroupQuery, GroupSync, GroupTrendDay};
pub use limits::RateState;
pub use live_codes::{CodeAdd, CodeStats};
pub use mass::{Chunk, PlanLimits};
pub use media::CachedMedia;
pub use moments::{MomentSet, NewInteraction};
pub use notices::{NewNotice, Notice, TaskToNotify};
pub use staff::{DepartmentLink, StaffSync, TagLink};
pub use tag_pushes::TagPush;
pub use transfers::{ItemUpdate, NewTransferItem, OpenItem};

/// The repository of WeCom data (`store.wecom()`).
pub struct Wecom<'a>(pub(crate) &'a crate::Store);

impl crate::Store {
    pub fn wecom(&self) -> Wecom<'_> {
        Wecom(self)
    }
}
