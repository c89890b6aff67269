//! WeCom: connected corps and their callback routes, persisted callbacks, staff and department mappings, corp
//! tag ids, customer groups with members and member changes, relations ended, and the shared rate budget.

mod callbacks;
mod corps;
mod groups;
mod limits;
mod live_codes;
mod mass;
mod staff;

pub use callbacks::{CallbackRecord, NewCallback};
pub use corps::NewCorp;
pub use groups::{GroupQuery, GroupSync, GroupTrendDay};
pub use limits::RateState;
pub use live_codes::{CodeAdd, CodeStats};
pub use mass::{Chunk, PlanLimits};
pub use staff::{DepartmentLink, StaffSync, TagLink};

/// The repository of WeCom data (`store.wecom()`).
pub struct Wecom<'a>(pub(crate) &'a crate::Store);

impl crate::Store {
    pub fn wecom(&self) -> Wecom<'_> {
        Wecom(self)
    }
}
