use proptest::prelude::*;

use super::*;

/// ⟨H⟩ of `reference/wecom.md` §6: the header through `</MsgType>`.
const H: &str = "<xml><ToUserName><![CDATA[wwCORP]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>";

fn with_header(rest: &str) -> String {
    format!("{H}{rest}")
}

const ADD_EXAMPLE: &str = "<xml><ToUserName><![CDATA[wwCORP]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>
<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[wmA1]]></ExternalUserID><State><![CDATA[qr-42]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>";

const CHAT_DEL_MEMBER: &str = "<Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrX1]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[del_member]]></UpdateDetail><QuitScene>1</QuitScene><MemChangeCnt>1</MemChangeCnt><MemChangeList><Item><![CDATA[wmA1]]></Item></MemChangeList><LastMemVer><![CDATA[9c3f97c2ada667dfb5f6d03308d963e1]]></LastMemVer><CurMemVer><![CDATA[71217227bbd112ecfe3a49c482195cb4]]></CurMemVer></xml>";

#[test]
fn add_external_contact_example_parses_with_state_and_welcome_code() {
    let callback = parse(ADD_EXAMPLE).unwrap();
    assert_eq!(callback.corp_id, "wwCORP");
    assert_eq!(callback.create_time, 1_700_000_000);
    assert_eq!(callback.agent_id, None);
    assert_eq!(callback.kind(), "change_external_contact/add_external_contact");
    assert_eq!(
        callback.event,
        CallbackEvent::ExternalContact(ContactChange {
            change: ContactChangeKind::Add,
            user_id: "zhangsan".into(),
            external_user_id: "wmA1".into(),
            state: Some("qr-42".into()),
            welcome_code: Some("WELCOMECODE".into()),
            source: None,
            fail_reason: None,
        })
    );
}

#[test]
fn transfer_fail_example_parses_the_reason_and_takeover_staff() {
    let xml = with_header(
        "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[transfer_fail]]></ChangeType><FailReason><![CDATA[customer_refused]]></FailReason><UserID><![CDATA[lisi]]></UserID><ExternalUserID><![CDATA[wmA1]]></ExternalUserID></xml>",
    );
    let CallbackEvent::ExternalContact(change) = parse(&xml).unwrap().event else { panic!("not a contact change") };
    assert_eq!(change.change, ContactChangeKind::TransferFail);
    assert_eq!(change.fail_reason.as_deref(), Some("customer_refused"));
    assert_eq!(change.user_id, "lisi");
    assert_eq!(change.external_user_id, "wmA1");
}

#[test]
fn chat_update_example_parses_members_and_versions() {
    let callback = parse(&with_header(CHAT_DEL_MEMBER)).unwrap();
    assert_eq!(callback.kind(), "change_external_chat/update");
    assert_eq!(
        callback.event,
        CallbackEvent::ExternalChat(ChatChange {
            chat_id: "wrX1".into(),
            change_type: ChatChangeType::Update,
            update_detail: Some(ChatUpdateDetail::DelMember),
            join_scene: None,
            quit_scene: Some(1),
            mem_change_cnt: Some(1),
            mem_change_list: vec!["wmA1".into()],
            last_mem_ver: Some("9c3f97c2ada667dfb5f6d03308d963e1".into()),
            cur_mem_ver: Some("71217227bbd112ecfe3a49c482195cb4".into()),
        })
    );
}

#[test]
fn tag_create_example_parses() {
    let xml = with_header(
        "<Event><![CDATA[change_external_tag]]></Event><Id><![CDATA[etX1]]></Id><TagType><![CDATA[tag]]></TagType><ChangeType><![CDATA[create]]></ChangeType></xml>",
    );
    let callback = parse(&xml).unwrap();
    assert_eq!(callback.kind(), "change_external_tag/create");
    assert_eq!(
        callback.event,
        CallbackEvent::ExternalTag(TagChange {
            id: "etX1".into(),
            tag_type: Some(TagType::Tag),
            change_type: TagChangeType::Create,
            strategy_id: None,
        })
    );
}

#[test]
fn tag_shuffle_without_tag_type_parses() {
    let xml = with_header(
        "<Event>change_external_tag</Event><Id></Id><ChangeType>shuffle</ChangeType><StrategyId>7</StrategyId></xml>",
    );
    let CallbackEvent::ExternalTag(tag) = parse(&xml).unwrap().event else { panic!("not a tag change") };
    assert_eq!(
        (tag.id.as_str(), tag.tag_type, tag.change_type, tag.strategy_id),
        ("", None, TagChangeType::Shuffle, Some(7))
    );
}

#[test]
fn staff_update_example_parses_without_cdata_change_type() {
    let xml = with_header(
        "<Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType><UserID><![CDATA[zhangsan]]></UserID><NewUserID><![CDATA[zhangsan2]]></NewUserID><Status>1</Status></xml>",
    );
    let callback = parse(&xml).unwrap();
    assert_eq!(callback.kind(), "change_contact/update_user");
    let CallbackEvent::Contact(staff) = callback.event else { panic!("not a staff change") };
    assert_eq!(staff.change_type, StaffChangeType::UpdateUser);
    assert_eq!(staff.user_id.as_deref(), Some("zhangsan"));
    assert_eq!(staff.new_user_id.as_deref(), Some("zhangsan2"));
    assert_eq!(staff.status, Some(1));
    assert!(staff.department.is_empty());
}

#[test]
fn staff_create_parses_departments_and_party_events_parse_ids() {
    let xml = with_header(
        "<Event>change_contact</Event><ChangeType>create_user</ChangeType><UserID>wangwu</UserID><Name><![CDATA[王五]]></Name><Department><![CDATA[1,2, x,3]]></Department><MainDepartment>2</MainDepartment><Position>销售</Position></xml>",
    );
    let CallbackEvent::Contact(staff) = parse(&xml).unwrap().event else { panic!("not a staff change") };
    assert_eq!(staff.department, vec![1, 2, 3]);
    assert_eq!(
        (staff.main_department, staff.name.as_deref(), staff.position.as_deref()),
        (Some(2), Some("王五"), Some("销售"))
    );
    let party = with_header(
        "<Event>change_contact</Event><ChangeType>create_party</ChangeType><Id>5</Id><Name>华东</Name><ParentId>1</ParentId></xml>",
    );
    let CallbackEvent::Contact(party) = parse(&party).unwrap().event else { panic!("not a party change") };
    assert_eq!(
        (party.change_type, party.party_id, party.parent_id, party.name.as_deref()),
        (StaffChangeType::CreateParty, Some(5), Some(1), Some("华东"))
    );
}

#[test]
fn msgaudit_notify_example_parses_with_agent_id() {
    let callback =
        parse(&with_header("<Event><![CDATA[msgaudit_notify]]></Event><AgentID>1000002</AgentID></xml>")).unwrap();
    assert_eq!(callback.event, CallbackEvent::MsgAuditNotify);
    assert_eq!(callback.agent_id.as_deref(), Some("1000002"));
    assert_eq!(callback.kind(), "msgaudit_notify");
}

#[test]
fn values_with_and_without_cdata_parse_the_same() {
    let plain = "<xml><ToUserName>wwCORP</ToUserName><FromUserName>sys</FromUserName><CreateTime> 1700000000 </CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType><UserID>zhangsan</UserID><ExternalUserID>wmA1</ExternalUserID><State>qr-42</State><WelcomeCode>\n  WELCOMECODE\n</WelcomeCode></xml>";
    assert_eq!(parse(plain).unwrap(), parse(ADD_EXAMPLE).unwrap());
}

#[test]
fn entities_and_cdata_content_are_kept_exactly() {
    let xml = with_header(
        "<Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType><UserID>a&amp;b&#x4e2d;</UserID><ExternalUserID>\n  <![CDATA[ <x> ]]>\n</ExternalUserID></xml>",
    );
    let CallbackEvent::ExternalContact(change) = parse(&xml).unwrap().event else { panic!("not a contact change") };
    assert_eq!(change.user_id, "a&b中");
    assert_eq!(change.external_user_id, " <x> ");
}

#[test]
fn unknown_elements_and_change_types_are_tolerated() {
    let xml = format!(
        "<?xml version=\"1.0\"?><!-- c -->{H}<Event>change_external_contact</Event><Extra><Nested>x</Nested></Extra><ChangeType>brand_new</ChangeType><UserID>u<b>ignored</b></UserID><Empty/></xml>"
    );
    let CallbackEvent::ExternalContact(change) = parse(&xml).unwrap().event else { panic!("not a contact change") };
    assert_eq!(change.change, ContactChangeKind::Other("brand_new".into()));
    assert_eq!(change.user_id, "u");
    let other = parse(&with_header("<Event>change_external_moment</Event><ChangeType>x</ChangeType></xml>")).unwrap();
    assert_eq!(other.kind(), "change_external_moment/x");
}

#[test]
fn a_text_message_is_an_other_event() {
    let xml = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";
    let callback = parse(xml).unwrap();
    assert_eq!(
        callback.event,
        CallbackEvent::Other { msg_type: "text".into(), event: String::new(), change_type: String::new() }
    );
    assert_eq!(callback.kind(), "text");
    assert_eq!(callback.agent_id.as_deref(), Some("218"));
}

#[test]
fn missing_or_invalid_header_fields_are_errors() {
    assert_eq!(
        parse("<xml><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>"),
        Err(ParseError::MissingField("ToUserName"))
    );
    assert_eq!(
        parse("<xml><ToUserName>c</ToUserName><MsgType>event</MsgType></xml>"),
        Err(ParseError::MissingField("CreateTime"))
    );
    assert_eq!(
        parse("<xml><ToUserName>c</ToUserName><CreateTime>1</CreateTime></xml>"),
        Err(ParseError::MissingField("MsgType"))
    );
    let bad_time = parse("<xml><ToUserName>c</ToUserName><CreateTime>soon</CreateTime><MsgType>event</MsgType></xml>");
    assert_eq!(bad_time, Err(ParseError::InvalidField("CreateTime")));
    assert_eq!(ParseError::MissingField("MsgType").code(), "wecom_callback_missing_field");
}

#[test]
fn non_xml_is_malformed() {
    for input in ["", "hello", "<xml><a></b></xml>", "<xml><ToUserName>c", "<xml/><xml/>"] {
        let err = parse(input).unwrap_err();
        assert_eq!(err.code(), "wecom_callback_malformed", "{input}: {err}");
    }
}

#[test]
fn a_retried_callback_gives_the_same_dedupe_key() {
    let first = parse(ADD_EXAMPLE).unwrap();
    let retry = parse(&ADD_EXAMPLE.replace("<![CDATA[zhangsan]]>", "zhangsan")).unwrap();
    assert_eq!(first.dedupe_key(), retry.dedupe_key());
    assert_eq!(first.dedupe_key().len(), 40);
}

#[test]
fn different_member_changes_in_the_same_second_get_different_keys() {
    let first = parse(&with_header(CHAT_DEL_MEMBER)).unwrap();
    let other_member =
        parse(&with_header(&CHAT_DEL_MEMBER.replace("<Item><![CDATA[wmA1]]>", "<Item><![CDATA[wmB2]]>"))).unwrap();
    let next_version =
        parse(&with_header(&CHAT_DEL_MEMBER.replace("71217227bbd112ecfe3a49c482195cb4", "0000"))).unwrap();
    assert_ne!(first.dedupe_key(), other_member.dedupe_key());
    assert_ne!(first.dedupe_key(), next_version.dedupe_key());
    assert_ne!(other_member.dedupe_key(), next_version.dedupe_key());
}

#[test]
fn events_of_different_customers_or_corps_get_different_keys() {
    let first = parse(ADD_EXAMPLE).unwrap();
    let other_customer = parse(&ADD_EXAMPLE.replace("wmA1", "wmA2")).unwrap();
    let other_corp = parse(&ADD_EXAMPLE.replace("wwCORP", "wwOTHER")).unwrap();
    let deleted = parse(&ADD_EXAMPLE.replace("add_external_contact", "del_external_contact")).unwrap();
    let keys: std::collections::HashSet<_> =
        [&first, &other_customer, &other_corp, &deleted].iter().map(|c| c.dedupe_key()).collect();
    assert_eq!(keys.len(), 4);
}

#[test]
fn callbacks_round_trip_through_json() {
    for xml in
        [ADD_EXAMPLE.to_owned(), with_header(CHAT_DEL_MEMBER), with_header("<Event>msgaudit_notify</Event></xml>")]
    {
        let callback = parse(&xml).unwrap();
        let json = serde_json::to_string(&callback).unwrap();
        assert_eq!(serde_json::from_str::<Callback>(&json).unwrap(), callback);
    }
    let json = serde_json::to_value(parse(ADD_EXAMPLE).unwrap()).unwrap();
    assert_eq!(json["event"]["type"], "external_contact");
    assert_eq!(json["event"]["change"], "add_external_contact");
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_input(input in ".*") {
        let _ = parse(&input);
    }

    #[test]
    fn parse_never_panics_on_xml_like_input(parts in proptest::collection::vec(
        prop_oneof![
            Just("<xml>".to_owned()), Just("</xml>".to_owned()), Just("<Item>".to_owned()), Just("</Item>".to_owned()),
            Just("<MemChangeList>".to_owned()), Just("</MemChangeList>".to_owned()), Just("<![CDATA[".to_owned()),
            Just("]]>".to_owned()), Just("&amp;".to_owned()), Just("&#0;".to_owned()), Just("<Item/>".to_owned()),
            Just("<CreateTime>1</CreateTime>".to_owned()), "[a-z<>/&;#]{0,6}",
        ],
        0..24,
    )) {
        let xml = format!("{H}{}", parts.concat());
        if let Ok(callback) = parse(&xml) {
            let _ = (callback.kind(), callback.dedupe_key());
        }
    }
}

#[test]
fn wecoms_own_documents_take_the_fast_path_and_read_as_the_general_parser_reads_them() {
    for xml in [ADD_EXAMPLE.to_owned(), with_header(CHAT_DEL_MEMBER), format!("\n {ADD_EXAMPLE}\n")] {
        let fast = super::flat::read(&xml).expect("a flat WeCom document takes the fast path");
        assert_eq!(Some(fast), super::parse::Fields::read(&xml).ok());
    }
    for declined in [
        ADD_EXAMPLE.replace("<State>", "<State a=\"1\">"),
        ADD_EXAMPLE.replace("\n", "\r\n"),
        ADD_EXAMPLE.replace("<![CDATA[qr-42]]>", "qr&amp;42"),
        ADD_EXAMPLE.replace("<xml>", "<?xml version=\"1.0\"?><xml>"),
        ADD_EXAMPLE.replace("<xml>", "<root>").replace("</xml>", "</root>"),
        ADD_EXAMPLE.replace("</UserID>", "</UserId>"),
    ] {
        assert_eq!(super::flat::read(&declined), None, "{declined}");
    }
}

/// One child of a generated document: mostly what WeCom sends, sometimes what it never does.
fn child() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("ToUserName"),
        Just("CreateTime"),
        Just("MsgType"),
        Just("Event"),
        Just("ChangeType"),
        Just("UserID"),
        Just("State"),
        Just("AgentID"),
        Just("Unknown"),
        Just("Item")
    ];
    let text = "[a-z0-9 \t\n\r&;<>\\]\\[!_/\u{3000}中]{0,8}";
    prop_oneof![
        (name.clone(), text).prop_map(|(n, t)| format!("<{n}><![CDATA[{t}]]></{n}>")),
        (name.clone(), text).prop_map(|(n, t)| format!("<{n}>{t}</{n}>")),
        (name.clone(), text, text).prop_map(|(n, a, b)| format!("<{n}>{a}<![CDATA[{b}]]>{a}</{n}>")),
        (name, text).prop_map(|(n, t)| format!("<{n}/>{t}")),
        proptest::collection::vec(text, 0..3).prop_map(|items| {
            let items: String = items.iter().map(|t| format!("<Item><![CDATA[{t}]]></Item>\n")).collect();
            format!("<MemChangeList>\n{items}</MemChangeList>")
        }),
        "[ \t\n\r]{1,3}",
        "[a-z<>/&;#!\\[\\]]{0,6}",
    ]
}

proptest! {
    #[test]
    fn the_fast_path_reads_what_the_general_parser_reads_or_declines(
        lead in "[ \n\r]{0,2}",
        children in proptest::collection::vec(child(), 0..12),
        tail in "(</xml>)?[a-z<>]{0,4}",
    ) {
        let xml = format!("{lead}<xml>{}{tail}", children.concat());
        if let Some(fast) = super::flat::read(&xml) {
            prop_assert_eq!(Some(fast), super::parse::Fields::read(&xml).ok());
        }
    }

    #[test]
    fn every_flat_document_takes_the_fast_path(
        children in proptest::collection::vec(
            prop_oneof![
                ("[A-Z][A-Za-z]{0,8}", "[^<&\r]{0,8}").prop_map(|(n, t)| format!("<{n}>{}</{n}>", t.replace("]]>", ""))),
                ("[A-Z][A-Za-z]{0,8}", "[^\r]{0,8}")
                    .prop_map(|(n, t)| format!("<{n}><![CDATA[{}]]></{n}>", t.replace("]]>", ""))),
                "[ \t\n]{1,3}",
            ],
            0..12,
        ),
    ) {
        let xml = format!("<xml>{}</xml>", children.concat());
        let fast = super::flat::read(&xml);
        prop_assert!(fast.is_some(), "{}", xml);
        prop_assert_eq!(fast, super::parse::Fields::read(&xml).ok());
    }
}
