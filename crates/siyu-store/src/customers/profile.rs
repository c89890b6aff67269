//! Reads that pages make together: a customer's whole profile, and what a list page shows beside each
//! customer. On a SQLite file each is one trip to the reader (see `reader`), not one per statement.

use siyu_domain::customer::{Customer, Follow, Note};
use siyu_domain::id::{CustomerId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::page::PageRequest;
use siyu_domain::tag::{Tag, TagGroup};

use super::{CustomerQuery, CustomerRow, Customers, SELECT, push_newest_first};
use crate::error::OptionExt;
use crate::follows::NamedFollow;
use crate::identities::{IdentityRecord, IdentityRow};
use crate::notes::NamedNote;
use crate::reader::{fetch_all, read_together};
use crate::sql::{Arg, Sql};
use crate::tags::HeldTagRow;
use crate::{StoreError, follows, identities, notes, tags};

/// A customer with everything its profile page shows.
#[derive(Debug, Clone)]
pub struct ProfileRecord {
    pub customer: Customer,
    /// Oldest first.
    pub identities: Vec<IdentityRecord>,
    /// Tags held, oldest first, with their groups (the caller filters personal tags of other staff).
    pub tags: Vec<(Tag, TagGroup)>,
    /// Follows, oldest first, with the staff member's name.
    pub follows: Vec<(Follow, String)>,
    /// Notes, newest first, with the author's name.
    pub notes: Vec<(Note, String)>,
}

/// What a list page shows beside a batch of customers.
#[derive(Debug, Clone, Default)]
pub struct ListDecorations {
    /// Identities of the requested kind, oldest first.
    pub identities: Vec<IdentityRecord>,
    pub tags: Vec<(CustomerId, Tag, TagGroup)>,
}

pub(super) fn get_sql(tenant: TenantId, id: CustomerId) -> Sql {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE c.tenant_id = ").bind(Arg::Uuid(tenant.0)).push(" AND c.id = ").bind(Arg::Uuid(id.0));
    sql
}

impl Customers<'_> {
    /// The customer and its identities, tags, follows and notes, read together.
    pub async fn profile(&self, tenant: TenantId, id: CustomerId) -> Result<ProfileRecord, StoreError> {
        let (customer, identities, tags, follows, notes) = (
            get_sql(tenant, id),
            identities::of_customer_sql(tenant, id),
            tags::held_sql(tenant, &[id]),
            follows::named_sql(tenant, id),
            notes::named_sql(tenant, id),
        );
        let (customer, identities, tags, follows, notes) = read_together!(self.0,
            optional CustomerRow = customer,
            all IdentityRow = identities,
            all HeldTagRow = tags,
            all NamedFollow = follows,
            all NamedNote = notes,
        )?;
        Ok(ProfileRecord {
            customer: customer.found()?.into(),
            identities: identities.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?,
            tags: tags.into_iter().map(<(CustomerId, Tag, TagGroup)>::from).map(|(_, t, g)| (t, g)).collect(),
            follows: follows.into_iter().map(Into::into).collect(),
            notes: notes.into_iter().map(Into::into).collect(),
        })
    }

    /// A page of customers (newest first, `page.limit + 1` of them to tell whether more follow) with the
    /// identities of one kind and the tags of the customers on it: on a SQLite file in one trip to the reader.
    pub async fn list_page(
        &self,
        tenant: TenantId,
        q: &CustomerQuery<'_>,
        page: PageRequest,
        kind: IdentityKind,
    ) -> Result<(Vec<Customer>, ListDecorations), StoreError> {
        let Some(reader) = &self.0.reader else {
            let customers = self.list(tenant, q, page).await?;
            let ids: Vec<CustomerId> = customers.iter().map(|c| c.id).collect();
            return Ok((customers, self.decorations(tenant, kind, &ids).await?));
        };
        let mut sql = Sql::new(SELECT);
        self.push_where(&mut sql, tenant, q);
        push_newest_first(&mut sql, page);
        let backend = self.0.kind();
        let (rows, identities, tags) = reader
            .run_short(move |conn| {
                let rows: Vec<CustomerRow> = fetch_all(conn, &sql)?;
                if rows.is_empty() {
                    return Ok((rows, Vec::new(), Vec::new()));
                }
                let ids: Vec<CustomerId> = rows.iter().map(|r| CustomerId(r.id)).collect();
                let identities: Vec<IdentityRow> =
                    fetch_all(conn, &identities::of_customers_sql(backend, tenant, kind, &ids))?;
                let tags: Vec<HeldTagRow> = fetch_all(conn, &tags::held_sql(tenant, &ids))?;
                Ok((rows, identities, tags))
            })
            .await?;
        let decorations = ListDecorations {
            identities: identities.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?,
            tags: tags.into_iter().map(Into::into).collect(),
        };
        Ok((rows.into_iter().map(Into::into).collect(), decorations))
    }

    /// The identities of one kind (e.g. phone) and the tags of a batch of customers, read together.
    pub async fn decorations(
        &self,
        tenant: TenantId,
        kind: IdentityKind,
        customers: &[CustomerId],
    ) -> Result<ListDecorations, StoreError> {
        if customers.is_empty() {
            return Ok(ListDecorations::default());
        }
        let identities = identities::of_customers_sql(self.0.kind(), tenant, kind, customers);
        let tags = tags::held_sql(tenant, customers);
        let (identities, tags) = read_together!(self.0, all IdentityRow = identities, all HeldTagRow = tags)?;
        Ok(ListDecorations {
            identities: identities.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?,
            tags: tags.into_iter().map(Into::into).collect(),
        })
    }
}
