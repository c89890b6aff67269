//! The committed `openapi.json` matches the code.

#[test]
fn the_committed_openapi_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let current = siyu_web::openapi::document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == current,
        "openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p siyu-web --test it openapi` and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&current).unwrap();
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
}

#[test]
fn every_api_route_is_documented() {
    let doc: serde_json::Value = serde_json::from_str(&siyu_web::openapi::document()).unwrap();
    let settings = crate::helpers::test_settings();
    let _ = settings;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = siyu_store::testing::TestDb::sqlite().await.unwrap();
        let app = siyu_app::App::new(
            db.store.clone(),
            crate::helpers::test_settings(),
            std::sync::Arc::new(siyu_app::clock::SystemClock),
        )
        .unwrap();
        let _router = siyu_web::router(app);
    });
    for (method, path) in siyu_web::routes::table().into_iter().filter(|(_, p)| p.starts_with("/api/v1")) {
        let documented = doc["paths"][path][method.to_lowercase()].is_object();
        assert!(documented, "{method} {path} is missing from the OpenAPI document");
    }
}
