//! No phone number is ever stored in clear text: the raw bytes of the database are searched.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn no_phone_number_appears_in_clear_text_in_the_database() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let phones = ["13812345678", "15900001111", "18688889999"];
    for (i, p) in phones.iter().enumerate() {
        let (s, _) = t
            .api(
                "POST",
                "/api/v1/customers",
                &f.token,
                Some(json!({"name": format!("客户{i}"), "phone": p, "email": format!("user{i}@example.com")})),
            )
            .await;
        assert_eq!(s, 201);
    }
    // Events carry phones too: in traits, in properties under any name, and in items that fail validation.
    let (_, source) = t.api("POST", "/api/v1/sources", &f.token, Some(json!({"name": "官网", "kind": "web"}))).await;
    let key = source["write_key"].as_str().unwrap().to_string();
    let batch = json!({"batch": [
        {"type": "identify", "userId": "u-1", "traits": {"phone": "17755554444", "email": "ev@example.com"}},
        {"type": "track", "userId": "u-1", "event": "Order Completed", "properties": {"mobile": "17755554444"}},
        {"type": "identify", "traits": {"contact": "17755554444"}}
    ]});
    let res = reqwest::Client::new().post(t.url("/v1/batch")).basic_auth(&key, Some("")).json(&batch).send().await;
    assert_eq!(res.unwrap().status().as_u16(), 200);
    let phones = ["13812345678", "15900001111", "18688889999", "17755554444"];
    // Searching by phone still works through the blind index.
    let (_, found) = t.api("GET", "/api/v1/customers?q=15900001111", &f.token, None).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let raw: Vec<u8> = match t.app.store.raw_dump().await.unwrap() {
        Some(text) => text.into_bytes(),
        None => {
            let dir = t.db.dir.as_ref().unwrap().path();
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(dir).unwrap() {
                bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            bytes
        }
    };
    let haystack = String::from_utf8_lossy(&raw);
    assert!(haystack.contains("客户1"), "the dump holds the data");
    for p in phones {
        let hex: String = p.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(!haystack.contains(p), "{p} found in clear text");
        assert!(!haystack.contains(&hex), "{p} found hex-encoded");
        assert!(!haystack.contains(&p[3..]), "the tail of {p} found");
    }
    assert!(!haystack.contains("user1@example.com"), "emails are encrypted too");
    assert!(!haystack.contains("ev@example.com"), "emails in events are encrypted too");
}
