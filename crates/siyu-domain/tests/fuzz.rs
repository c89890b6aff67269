//! Property tests standing in for fuzzing: no parser panics on any input.

use proptest::prelude::*;
use serde_json::Value;
use siyu_domain::customer::Gender;
use siyu_domain::field::{FieldDef, FieldKind};
use siyu_domain::id::FieldId;
use siyu_domain::identity::{IdentityKind, NewIdentity};
use siyu_domain::page::{Cursor, PageRequest};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        "\\PC{0,30}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| prop::collection::vec(inner, 0..4).prop_map(Value::Array))
}

proptest! {
    #[test]
    fn identity_parsing_never_panics(kind in 0usize..IdentityKind::ALL.len(), ns in proptest::option::of("\\PC{0,70}"), value in "\\PC{0,300}") {
        let _ = NewIdentity::parse(IdentityKind::ALL[kind], ns.as_deref(), &value);
    }

    #[test]
    fn cursor_and_page_parsing_never_panic(s in "\\PC{0,80}", limit in proptest::option::of(any::<u32>())) {
        let _ = Cursor::decode(&s);
        let _ = PageRequest::parse(Some(&s), limit);
    }

    #[test]
    fn field_values_are_checked_without_panicking(kind in 0usize..5, v in any_json()) {
        let def = FieldDef { id: FieldId::new(), key: "k".into(), label: "K".into(), kind: FieldKind::ALL[kind], options: vec!["a".into(), "b".into()], sort: 0 };
        let _ = def.coerce(&v);
    }

    #[test]
    fn gender_parsing_never_panics(s in "\\PC{0,10}") {
        let _ = Gender::parse(&s);
    }
}
