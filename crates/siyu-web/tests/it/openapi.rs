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

#[test]
fn path_parameters_are_the_path_template_variables_and_the_rest_are_query_parameters() {
    let doc: serde_json::Value = serde_json::from_str(&siyu_web::openapi::document()).unwrap();
    let mut wrong = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let (name, place) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
                let in_template = path.contains(&format!("{{{name}}}"));
                if (place == "path") != in_template {
                    wrong.push(format!("{method} {path}: {name} in {place}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "misplaced parameters: {wrong:#?}");
}
