//! Segments over the Open API: create from text and from JSON, preview, members, the delta log, exports
//! (members as CSV, the ad audience of consenting members only), and `invalid_definition` errors that
//! point at each problem.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_segment_is_defined_previewed_listed_and_followed_through_its_deltas_over_the_api() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "意向", "tags": ["高意向"]}))).await;
    let tag = g["tags"][0]["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for (name, phone, tagged) in
        [("王芳", "13912345678", true), ("李雷", "13812345678", true), ("韩梅", "13712345678", false)]
    {
        let tags = if tagged { json!([tag]) } else { json!([]) };
        let (s, c) = t
            .api("POST", "/api/v1/customers", &f.token, Some(json!({"name": name, "phone": phone, "tags": tags})))
            .await;
        assert_eq!(s, 201, "{c}");
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    // 王芳 agrees to ad audiences; 李雷 withdraws.
    let consent =
        |id: &str, status: &str| (format!("/api/v1/customers/{id}/consents/ad_audience"), json!({"status": status}));
    for (id, status) in [(&ids[0], "granted"), (&ids[1], "withdrawn")] {
        let (path, body) = consent(id, status);
        let (s, body) = t.api("PUT", &path, &f.token, Some(body)).await;
        assert_eq!(s, 200, "{body}");
    }

    let (s, p) =
        t.api("POST", "/api/v1/segments/preview", &f.token, Some(json!({"text": "tag any [\"高意向\"]"}))).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["count"], 2);
    assert_eq!(p["definition"]["type"], "tags");

    let (s, seg) = t
        .api(
            "POST",
            "/api/v1/segments",
            &f.token,
            Some(json!({"name": "高意向客户", "text": "tag any [\"高意向\"] and has phone"})),
        )
        .await;
    assert_eq!(s, 201, "{seg}");
    assert_eq!((seg["member_count"].as_i64(), seg["kind"].as_str()), (Some(2), Some("dynamic")));
    assert_eq!(seg["text"], "tag any [\"高意向\"] and has phone");
    let id = seg["id"].as_str().unwrap();

    let (s, same) =
        t.api("POST", "/api/v1/segments", &f.token, Some(json!({"name": "高意向客户", "text": "has phone"}))).await;
    assert_eq!((s, same["code"].as_str()), (409, Some("conflict")));

    let (s, members) = t.api("GET", &format!("/api/v1/segments/{id}/members?limit=1"), &f.token, None).await;
    assert_eq!(s, 200);
    assert_eq!((members["total"].as_i64(), members["items"].as_array().unwrap().len()), (Some(2), 1));
    assert!(members["next_cursor"].is_string());

    let (_, changes) = t.api("GET", &format!("/api/v1/segments/{id}/changes"), &f.token, None).await;
    assert_eq!(changes.as_array().unwrap().len(), 2);
    assert!(changes.as_array().unwrap().iter().all(|c| c["reason"] == "initial" && c["version"] == 1));

    // 韩梅 gets the tag: she enters at once under the next version (reason `change`); a refresh finds
    // nothing left to do.
    let (s, _) =
        t.api("POST", &format!("/api/v1/customers/{}/tags", ids[2]), &f.token, Some(json!({"add": [tag]}))).await;
    assert_eq!(s, 200);
    let (_, changes) = t.api("GET", &format!("/api/v1/segments/{id}/changes?after_version=1"), &f.token, None).await;
    assert_eq!(changes.as_array().unwrap().len(), 1);
    let c = &changes[0];
    assert_eq!(
        (c["customer_id"].as_str(), c["op"].as_str(), c["reason"].as_str(), c["version"].as_i64()),
        (Some(ids[2].as_str()), Some("enter"), Some("change"), Some(2))
    );
    let (s, r) = t.api("POST", &format!("/api/v1/segments/{id}/refresh"), &f.token, None).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!((r["entered"].as_u64(), r["exited"].as_u64(), r["members"].as_i64()), (Some(0), Some(0), Some(3)));

    let (_, mine) = t.api("GET", &format!("/api/v1/customers/{}/segments", ids[2]), &f.token, None).await;
    assert_eq!(mine["current"][0]["name"], "高意向客户");

    // Exports: members as CSV (masked phones), and the ad audience of the one consenting member.
    let client = reqwest::Client::new();
    let csv = client.get(t.url(&format!("/api/v1/segments/{id}/export"))).bearer_auth(&f.token).send().await.unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.contains("139****5678") && !csv.contains("13912345678"));
    let audience =
        client.get(t.url(&format!("/api/v1/segments/{id}/audience"))).bearer_auth(&f.token).send().await.unwrap();
    assert_eq!(audience.status().as_u16(), 200);
    let audience = audience.text().await.unwrap();
    let expected: String = Sha256::digest(b"13912345678").iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(audience, format!("sha256_phone\n{expected}\n"), "only 王芳 consented to ad audiences");

    let (s, list) = t.api("GET", "/api/v1/segments", &f.token, None).await;
    assert_eq!((s, list.as_array().unwrap().len()), (200, 1));
    let (s, _) = t.api("DELETE", &format!("/api/v1/segments/{id}"), &f.token, None).await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn a_bad_definition_answers_invalid_definition_with_each_problem_and_its_place() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (s, e) = t
        .api(
            "POST",
            "/api/v1/segments",
            &f.token,
            Some(json!({"name": "坏", "text": "order_count >= 2 and shoe_size = 42"})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["code"], "invalid_definition");
    assert_eq!(e["errors"][0]["code"], "unknown_field");
    assert_eq!(e["errors"][0]["span"], json!([21, 35]), "the span covers `shoe_size = 42`");
    assert!(e["message"].as_str().unwrap().contains("shoe_size"), "{e}");

    let def = json!({"type": "any", "of": [{"type": "field", "field": "paid_fen", "op": "gt", "value": "lots"}]});
    let (s, e) = t.api("POST", "/api/v1/segments/preview", &f.token, Some(json!({"definition": def}))).await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(
        (e["errors"][0]["path"].as_str(), e["errors"][0]["code"].as_str()),
        (Some("/of/0/value"), Some("expected_number"))
    );

    let (s, e) =
        t.api("POST", "/api/v1/segments/preview", &f.token, Some(json!({"definition": {"type": "nope"}}))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("malformed_request")), "{e}");
    let (s, e) = t.api("POST", "/api/v1/segments/preview", &f.token, Some(json!({}))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_input")), "{e}");
}
