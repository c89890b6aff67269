//! SQLite's plans for segment rules that test a customer's identities. SQLite plans by the shape of the
//! indexes alone (siyu runs no `ANALYZE`), so a fresh database plans these exactly as one with a million
//! customers does, where the wrong index turns a second into hours.

use chrono::{FixedOffset, Utc};
use siyu_domain::id::{GroupId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::segment::eval::At;
use siyu_domain::segment::{Atom, Rule, TagMatch};

use crate::sql::{Sql, dyn_query_as};
use crate::testing::TestDb;

async fn plan(rule: Rule) -> String {
    let db = TestDb::sqlite().await.unwrap();
    let store = &db.store;
    let at = At { now: Utc::now(), offset: FixedOffset::east_opt(8 * 3600).unwrap() };
    let mut sql = Sql::new("EXPLAIN QUERY PLAN SELECT c.id");
    store.segments().matching(&mut sql, TenantId::new(), &rule, at, &None);
    type Row = (i64, i64, i64, String);
    let rows: Vec<Row> = crate::on_pool!(store, p => dyn_query_as!(Row, sql).fetch_all(p).await).unwrap();
    rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn has_an_identity_of_a_kind_probes_each_customers_own_identities() {
    let plan = plan(Rule::Atom(Atom::Identity(IdentityKind::Phone))).await;
    assert!(plan.contains("identities_customer (tenant_id=? AND customer_id=?)"), "{plan}");
    assert!(!plan.contains("identities_kind_lookup"), "{plan}");
}

#[tokio::test]
async fn being_in_a_customer_group_probes_each_customers_own_identities() {
    let rule = Rule::Atom(Atom::Groups { mode: TagMatch::Any, groups: vec![GroupId::new()] });
    let plan = plan(rule).await;
    assert!(plan.contains("identities_customer (tenant_id=? AND customer_id=?)"), "{plan}");
    assert!(!plan.contains("identities_kind_lookup"), "{plan}");
}

async fn plan_of(sql: &str) -> String {
    let db = TestDb::sqlite().await.unwrap();
    let args = vec![crate::sql::Arg::Uuid(TenantId::new().0), crate::sql::Arg::Uuid(uuid::Uuid::now_v7())];
    let sql = Sql::with(&format!("EXPLAIN QUERY PLAN {sql}"), args);
    type Row = (i64, i64, i64, String);
    let rows: Vec<Row> = crate::on_pool!(&db.store, p => dyn_query_as!(Row, sql).fetch_all(p).await).unwrap();
    rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn one_customers_facts_probe_their_own_identities() {
    for sql in [super::facts::KINDS.to_string(), super::facts::groups_sql(crate::BackendKind::Sqlite)] {
        let plan = plan_of(&sql).await;
        assert!(plan.contains("identities_customer (tenant_id=? AND customer_id=?)"), "{sql}\n{plan}");
        assert!(!plan.contains("identities_kind_lookup"), "{sql}\n{plan}");
    }
}
