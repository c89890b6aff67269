use std::collections::HashMap;

use super::*;

fn code(chat_ids: &[&str], reserve: &[&str], slots: i64) -> GroupCode {
    GroupCode {
        id: GroupCodeId::new(),
        corp: CorpId::new(),
        name: "会员群码".into(),
        channel: String::new(),
        state: "gc1".into(),
        settings: GroupCodeSettings { threshold: 10, ..GroupCodeSettings::default() },
        chat_ids: chat_ids.iter().map(|s| s.to_string()).collect(),
        slots,
        reserve: reserve.iter().map(|s| s.to_string()).collect(),
        filled: Vec::new(),
        needs_groups: false,
        config_id: None,
        qr_code: None,
        active: true,
        created_at: Utc::now(),
        version: 0,
    }
}

fn fills(pairs: &[(&str, i64)]) -> impl Fn(&str) -> Fill {
    let map: HashMap<String, i64> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    move |g| match map.get(g) {
        Some(n) if *n < 0 => Fill { members: 0, gone: true },
        Some(n) => Fill { members: *n, gone: false },
        None => Fill { members: 0, gone: false },
    }
}

#[test]
fn a_group_at_the_threshold_rolls_out_and_the_next_reserve_group_takes_its_place() {
    let c = code(&["a", "b"], &["c", "d"], 2);
    let r = roll(&c, fills(&[("a", 10), ("b", 3)]));
    assert_eq!(r.chat_ids, ["b", "c"]);
    assert_eq!(r.reserve, ["d"]);
    assert_eq!(r.filled, ["a"]);
    assert!(!r.needs_groups);
    assert!(r.changes(&c));
}

#[test]
fn groups_below_the_threshold_change_nothing() {
    let c = code(&["a"], &["b"], 1);
    let r = roll(&c, fills(&[("a", 9)]));
    assert!(!r.changes(&c));
}

#[test]
fn a_filled_group_members_left_returns_to_the_reserve_only_well_below_the_threshold() {
    let mut c = code(&["b"], &["c"], 1);
    c.filled = vec!["a".into(), "x".into()];
    // 9 of 10 is below the threshold but inside the margin: a stays filled.
    let r = roll(&c, fills(&[("a", 9), ("b", 3), ("x", -1)]));
    assert!(!r.changes(&c));
    let r = roll(&c, fills(&[("a", 8), ("b", 3), ("x", -1)]));
    assert_eq!((r.chat_ids, r.reserve, r.filled), (vec!["b".into()], vec!["c".into(), "a".into()], vec!["x".into()]));
    // With the reserve empty and the open group full, the returned group takes the slot at once.
    let mut c = code(&["b"], &[], 1);
    c.filled = vec!["a".into()];
    c.needs_groups = true;
    let r = roll(&c, fills(&[("a", 2), ("b", 10)]));
    assert_eq!((r.chat_ids, r.filled, r.needs_groups), (vec!["a".into()], vec!["b".into()], false));
}

#[test]
fn full_or_dismissed_reserve_groups_are_skipped() {
    let c = code(&["a"], &["b", "c", "d"], 1);
    let r = roll(&c, fills(&[("a", 12), ("b", 15), ("c", -1)]));
    assert_eq!(
        (r.chat_ids, r.reserve, r.filled),
        (vec!["d".to_string()], vec![], vec!["b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn when_the_reserve_runs_out_the_last_live_group_stays_and_the_code_needs_groups() {
    let c = code(&["a"], &[], 1);
    let r = roll(&c, fills(&[("a", 10)]));
    assert_eq!(r.chat_ids, ["a"]);
    assert!(r.filled.is_empty());
    assert!(r.needs_groups);
    // Two slots, one left open: the code works but is short of groups.
    let c = code(&["a", "b"], &[], 2);
    let r = roll(&c, fills(&[("a", 10)]));
    assert_eq!((r.chat_ids, r.filled, r.needs_groups), (vec!["b".to_string()], vec!["a".to_string()], true));
    // A dismissed last group leaves; the code has nothing open.
    let c = code(&["a"], &[], 1);
    let r = roll(&c, fills(&[("a", -1)]));
    assert!(r.chat_ids.is_empty() && r.needs_groups);
}

#[test]
fn without_rollover_groups_stay_and_only_the_warning_follows_the_fill() {
    let mut c = code(&["a", "b"], &["c"], 2);
    c.settings.rollover = false;
    let r = roll(&c, fills(&[("a", 10), ("b", 10)]));
    assert_eq!((r.chat_ids.len(), r.needs_groups), (2, true));
    c.settings.auto_create_room = true;
    assert!(!roll(&c, fills(&[("a", 10), ("b", 10)])).needs_groups);
}

#[test]
fn a_state_is_short_and_codes_with_repeated_or_too_many_groups_are_refused() {
    let s = state_for(GroupCodeId::new());
    assert!(s.starts_with("gc") && s.len() == 18);
    let ok = GroupCodeSettings::default();
    let ids = |n: usize| (0..n).map(|i| format!("wr{i}")).collect::<Vec<_>>();
    assert!(validate(&ids(5), &ids(0), &ok).is_ok());
    assert_eq!(validate(&ids(6), &[], &ok).unwrap_err().0, "groups");
    assert_eq!(validate(&[], &[], &ok).unwrap_err().0, "groups");
    assert_eq!(validate(&ids(2), &ids(1), &ok).unwrap_err().0, "reserve");
    let high = GroupCodeSettings { threshold: 201, ..GroupCodeSettings::default() };
    assert_eq!(validate(&ids(1), &[], &high).unwrap_err().0, "threshold");
    let long = GroupCodeSettings { room_base_name: Some("群".repeat(41)), ..GroupCodeSettings::default() };
    assert_eq!(validate(&ids(1), &[], &long).unwrap_err().0, "room_base_name");
    assert_eq!(validate_welcome("", "x", None).unwrap_err().0, "name");
    assert_eq!(validate_welcome("欢迎", " ", None).unwrap_err().0, "text");
    assert!(validate_welcome("欢迎", "", Some(&serde_json::json!({"msgtype": "image"}))).is_ok());
}
