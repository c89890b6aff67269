//! Tag groups and tags. Enterprise tags are shared by the tenant; personal tags belong to one staff member.
//! In an exclusive group a customer holds at most one tag: adding one removes its siblings.

use serde::{Deserialize, Serialize};

use crate::id::{TagGroupId, TagId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TagKind {
    Enterprise,
    Personal,
}

impl TagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enterprise => "enterprise",
            Self::Personal => "personal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enterprise" => Some(Self::Enterprise),
            "personal" => Some(Self::Personal),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagGroup {
    pub id: TagGroupId,
    pub name: String,
    pub kind: TagKind,
    /// The staff member owning a personal group.
    pub owner_id: Option<UserId>,
    pub exclusive: bool,
    pub sort: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tag {
    pub id: TagId,
    pub group_id: TagGroupId,
    pub name: String,
    pub sort: i64,
}

/// A tag a customer currently holds, with its group's exclusivity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldTag {
    pub tag: TagId,
    pub group: TagGroupId,
}

/// Which held tags must go when `adding` (in `group`, exclusive or not) is added.
pub fn displaced_by(held: &[HeldTag], adding: TagId, group: TagGroupId, exclusive: bool) -> Vec<TagId> {
    if !exclusive {
        return Vec::new();
    }
    held.iter().filter(|h| h.group == group && h.tag != adding).map(|h| h.tag).collect()
}

/// Whether `actor` may use a tag of this group on a customer: personal groups only by their owner.
pub fn may_use(group: &TagGroup, actor: UserId) -> bool {
    match group.kind {
        TagKind::Enterprise => true,
        TagKind::Personal => group.owner_id == Some(actor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_to_an_exclusive_group_displaces_the_sibling() {
        let g = TagGroupId::new();
        let (a, b) = (TagId::new(), TagId::new());
        let other = HeldTag { tag: TagId::new(), group: TagGroupId::new() };
        let held = [HeldTag { tag: a, group: g }, other];
        assert_eq!(displaced_by(&held, b, g, true), vec![a]);
        assert!(displaced_by(&held, b, g, false).is_empty());
        assert!(displaced_by(&held, a, g, true).is_empty());
    }

    #[test]
    fn personal_tags_belong_to_their_owner() {
        let owner = UserId::new();
        let group = TagGroup {
            id: TagGroupId::new(),
            name: "x".into(),
            kind: TagKind::Personal,
            owner_id: Some(owner),
            exclusive: false,
            sort: 0,
        };
        assert!(may_use(&group, owner));
        assert!(!may_use(&group, UserId::new()));
    }
}
