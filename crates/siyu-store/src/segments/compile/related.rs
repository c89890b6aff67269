//! The atoms answered from rows related to the customer: tags, customer groups, identities, follows,
//! events (with their property filters), purchases, consents and static segment memberships. Each is an
//! `EXISTS`, a count or a `COALESCE` over a correlated subquery on `c`, so it is never NULL.

use siyu_domain::id::{GroupId, SegmentId, TagId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
use siyu_domain::segment::{CountOp, PropertyTest, PropertyValue, TagMatch};
use uuid::Uuid;

use super::Compiler;
use crate::BackendKind;
use crate::sql::{Arg, Sql};

const PAID: &str = "('paid', 'shipped', 'received', 'partially_refunded')";

const TAG: &str = "EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.customer_id = c.id \
     AND ct.tag_id ";

/// A customer is in a group when one of their external_userid identities is a customer member of it
/// (`member_type = 2`; dismissed groups have no members). The kind is [`BackendKind::unindexed`]: the
/// probe stays on the customer's own identities.
fn group_exists(kind: BackendKind) -> String {
    format!(
        "EXISTS (SELECT 1 FROM identities gi JOIN group_members gm ON gm.tenant_id = gi.tenant_id \
         AND gm.member_key = gi.lookup WHERE gi.tenant_id = c.tenant_id AND gi.customer_id = c.id \
         AND {}gi.kind = 'external_userid' AND gm.member_type = 2 AND gm.group_id ",
        kind.unindexed()
    )
}

/// Any / all / none of `ids` by the membership test `exists` (ending in the id column, before `= x` or
/// `IN (…)`).
fn any_all_none(sql: &mut Sql, exists: &str, mode: TagMatch, ids: &[Uuid]) {
    match mode {
        TagMatch::All => {
            sql.push("(");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    sql.push(" AND ");
                }
                sql.push(exists).push("= ").bind(Arg::Uuid(*id)).push(")");
            }
            sql.push(")");
        }
        TagMatch::Any | TagMatch::None => {
            sql.push(if mode == TagMatch::None { "NOT " } else { "" });
            sql.push(exists).push("IN ").bind_list(ids.iter().copied()).push(")");
        }
    }
}

impl Compiler {
    pub(super) fn tags(&self, sql: &mut Sql, mode: TagMatch, tags: &[TagId]) {
        any_all_none(sql, TAG, mode, &tags.iter().map(|t| t.0).collect::<Vec<_>>());
    }

    pub(super) fn groups(&self, sql: &mut Sql, mode: TagMatch, groups: &[GroupId]) {
        any_all_none(sql, &group_exists(self.kind), mode, &groups.iter().map(|g| g.0).collect::<Vec<_>>());
    }

    pub(super) fn identity(&self, sql: &mut Sql, kind: IdentityKind) {
        // With a plain `i.kind`, SQLite read all of the tenant's phones for each customer ("has phone" over a
        // million customers ran for over 20 minutes unfinished; now 1.4 s).
        sql.push("EXISTS (SELECT 1 FROM identities i WHERE i.tenant_id = c.tenant_id AND i.customer_id = c.id AND ")
            .push(self.kind.unindexed())
            .push("i.kind = ")
            .bind(Arg::Text(kind.as_str().into()))
            .push(")");
    }

    pub(super) fn follow(
        &self,
        sql: &mut Sql,
        staff: Option<UserId>,
        state: Option<&str>,
        add_way: Option<&str>,
        within_days: Option<u32>,
    ) {
        sql.push("EXISTS (SELECT 1 FROM follows fo WHERE fo.tenant_id = c.tenant_id AND fo.customer_id = c.id");
        if let Some(u) = staff {
            sql.push(" AND fo.user_id = ").bind(Arg::Uuid(u.0));
        }
        if let Some(s) = state {
            sql.push(" AND fo.state = ").bind(Arg::Text(s.into()));
        }
        if let Some(w) = add_way {
            sql.push(" AND fo.add_way = ").bind(Arg::Text(w.into()));
        }
        if let Some(d) = within_days {
            sql.push(" AND fo.added_at >= ").bind(Arg::Time(self.at.cutoff(d)));
        }
        sql.push(")");
    }

    pub(super) fn event(
        &self,
        sql: &mut Sql,
        name: &str,
        op: CountOp,
        count: u32,
        within_days: Option<u32>,
        filters: &[PropertyTest],
    ) {
        sql.push(
            "(SELECT COUNT(*) FROM events e WHERE e.tenant_id = c.tenant_id AND e.customer_id = c.id AND e.name = ",
        )
        .bind(Arg::Text(name.into()));
        if let Some(d) = within_days {
            sql.push(" AND e.event_time >= ").bind(Arg::Time(self.at.cutoff(d)));
        }
        for f in filters {
            sql.push(" AND ");
            self.property(sql, f);
        }
        let op = match op {
            CountOp::Eq => ") = ",
            CountOp::Ge => ") >= ",
            CountOp::Le => ") <= ",
        };
        sql.push(op).bind(Arg::Int(i64::from(count)));
    }

    pub(super) fn bought(&self, sql: &mut Sql, product: &str, within_days: Option<u32>) {
        sql.push(
            "EXISTS (SELECT 1 FROM orders o JOIN order_lines l ON l.tenant_id = o.tenant_id AND l.order_id = o.id \
             WHERE o.tenant_id = c.tenant_id AND o.customer_id = c.id AND l.refund <> 'full' AND o.status IN ",
        )
        .push(PAID);
        if let Some(d) = within_days {
            sql.push(" AND o.placed_at >= ").bind(Arg::Time(self.at.cutoff(d)));
        }
        sql.push(" AND (l.sku_id = ").bind(Arg::Text(product.into()));
        sql.push(" OR l.product_id = ").bind(Arg::Text(product.into()));
        sql.push(" OR l.title = ").bind(Arg::Text(product.into())).push("))");
    }

    pub(super) fn consent(&self, sql: &mut Sql, purpose: ConsentPurpose, status: ConsentStatus) {
        sql.push("COALESCE((SELECT cs.status FROM consents cs WHERE cs.tenant_id = c.tenant_id AND cs.customer_id = c.id AND cs.purpose = ")
            .bind(Arg::Text(purpose.as_str().into()))
            .push("), 'unknown') = ")
            .bind(Arg::Text(status.as_str().into()));
    }

    pub(super) fn member(&self, sql: &mut Sql, id: SegmentId) {
        sql.push("EXISTS (SELECT 1 FROM segment_members sm WHERE sm.tenant_id = c.tenant_id AND sm.segment_id = ")
            .bind(Arg::Uuid(id.0))
            .push(" AND sm.customer_id = c.id)");
    }

    /// An event property test; a property of another JSON type than the value's never matches.
    fn property(&self, sql: &mut Sql, f: &PropertyTest) {
        let cmp = f.cmp.sql();
        if self.pg() {
            let prop = |sql: &mut Sql| {
                sql.push("(e.payload -> 'properties' -> ").bind(Arg::Text(f.key.clone())).push(")");
            };
            sql.push("COALESCE(CASE WHEN jsonb_typeof(");
            prop(sql);
            let (ty, cast) = match f.value {
                PropertyValue::Text(_) => ("'string'", ")"),
                PropertyValue::Number(_) => ("'number'", ")::float8"),
                PropertyValue::Bool(_) => ("'boolean'", ")::boolean::int"),
            };
            sql.push(") = ").push(ty).push(" THEN (");
            prop(sql);
            sql.push(" #>> '{}'").push(cast).push(cmp);
        } else {
            let path = format!("$.properties.\"{}\"", f.key);
            sql.push("COALESCE(CASE WHEN json_type(e.payload, ").bind(Arg::Text(path.clone()));
            let ty = match f.value {
                PropertyValue::Text(_) => " = 'text'",
                PropertyValue::Number(_) => " IN ('integer', 'real')",
                PropertyValue::Bool(_) => " IN ('true', 'false')",
            };
            sql.push(")").push(ty).push(" THEN json_extract(e.payload, ").bind(Arg::Text(path)).push(")").push(cmp);
        }
        match &f.value {
            PropertyValue::Text(s) => sql.bind(Arg::Text(s.clone())),
            PropertyValue::Number(n) => sql.bind(Arg::Float(*n)),
            PropertyValue::Bool(b) => sql.bind(Arg::Int(i64::from(*b))),
        };
        sql.push(" ELSE FALSE END, FALSE)");
    }
}
