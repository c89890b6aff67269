//! The catalog a definition is checked against: the tenant's custom fields, tags (with group names),
//! customer groups (客户群), staff, other segments and time zone.

use siyu_domain::id::{SegmentId, TenantId};
use siyu_domain::segment::check::{Catalog, SegmentRef};
use siyu_domain::tag::TagKind;

use crate::App;
use crate::error::AppResult;

impl App {
    /// The catalog for `tenant`; `defining` is the segment being edited (a reference to it is a cycle).
    /// Personal tag groups are included: their ids are only known to their owner anyway.
    pub async fn segment_catalog(&self, tenant: TenantId, defining: Option<SegmentId>) -> AppResult<Catalog> {
        let fields = self.store.fields().list(tenant).await?;
        let groups = self.store.tags().groups(tenant).await?;
        let tags = self
            .store
            .tags()
            .all_tags(tenant)
            .await?
            .into_iter()
            .filter_map(|t| {
                let g = groups.iter().find(|g| g.id == t.group_id)?;
                let group = if g.kind == TagKind::Personal { format!("{} (个人)", g.name) } else { g.name.clone() };
                Some((t.id, group, t.name))
            })
            .collect();
        // Every group, dismissed ones too: a definition naming one stays valid (the group has no members).
        let customer_groups = self.store.segments().customer_groups(tenant).await?;
        let staff = self
            .store
            .members()
            .list(tenant)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m.username, m.display_name))
            .collect();
        let segments = self
            .store
            .segments()
            .list(tenant)
            .await?
            .into_iter()
            .map(|s| SegmentRef { id: s.id, name: s.name, kind: s.kind, definition: s.definition })
            .collect();
        let offset = Some(self.tenant_offset(tenant).await?);
        Ok(Catalog { fields, tags, groups: customer_groups, staff, segments, offset, defining })
    }
}
