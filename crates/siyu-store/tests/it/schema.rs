use siyu_store::Store;

/// Tables that belong to the platform rather than to a tenant (Citus reference tables). WeCom callback routes
/// map a callback URL to its tenant before any tenant is known.
const PLATFORM_TABLES: [&str; 5] = ["tenants", "accounts", "sessions", "login_throttle", "wecom_callback_routes"];

async fn every_tenant_table_leads_its_keys_and_indexes_with_tenant_id(store: Store) {
    let rows = store.index_leading_columns().await.unwrap();
    assert!(rows.iter().any(|(t, _, _)| t == "customers"), "introspection found the tables");
    let offenders: Vec<_> = rows
        .iter()
        .filter(|(table, _, first)| !PLATFORM_TABLES.contains(&table.as_str()) && first != "tenant_id")
        .collect();
    assert!(offenders.is_empty(), "indexes not led by tenant_id: {offenders:?}");
}

async fn migrations_can_run_twice(store: Store) {
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

crate::conformance!(every_tenant_table_leads_its_keys_and_indexes_with_tenant_id, migrations_can_run_twice);

#[test]
fn sqlite_and_postgres_migration_folders_list_the_same_names() {
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let (s, p) = (names("sqlite"), names("postgres"));
    assert!(!s.is_empty());
    assert_eq!(s, p);
}
