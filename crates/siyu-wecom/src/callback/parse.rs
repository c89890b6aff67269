//! One pass over the decrypted XML: the root's children become named fields, `MemChangeList`'s `Item`
//! children a list; anything else is skipped. WeCom's flat documents take the fast path of [`super::flat`];
//! whatever it declines is read with quick-xml.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::{
    Callback, CallbackEvent, ChatChange, ChatChangeType, ChatUpdateDetail, ContactChange, ContactChangeKind,
    ParseError, StaffChange, StaffChangeType, TagChange, TagChangeType, TagType,
};

/// Parses a decrypted callback (`reference/wecom.md` §6).
pub fn parse(xml: &str) -> Result<Callback, ParseError> {
    let fields = match super::flat::read(xml) {
        Some(fields) => fields,
        None => Fields::read(xml)?,
    };
    fields.into_callback()
}

/// The root's known children, as raw text.
#[derive(Default, Debug, PartialEq, Eq)]
pub(super) struct Fields {
    pub(super) to_user_name: Option<String>,
    pub(super) create_time: Option<String>,
    pub(super) msg_type: Option<String>,
    pub(super) event: Option<String>,
    pub(super) change_type: Option<String>,
    pub(super) agent_id: Option<String>,
    pub(super) user_id: Option<String>,
    pub(super) external_user_id: Option<String>,
    pub(super) state: Option<String>,
    pub(super) welcome_code: Option<String>,
    pub(super) source: Option<String>,
    pub(super) fail_reason: Option<String>,
    pub(super) chat_id: Option<String>,
    pub(super) update_detail: Option<String>,
    pub(super) join_scene: Option<String>,
    pub(super) quit_scene: Option<String>,
    pub(super) mem_change_cnt: Option<String>,
    pub(super) mem_change_list: Vec<String>,
    pub(super) last_mem_ver: Option<String>,
    pub(super) cur_mem_ver: Option<String>,
    pub(super) id: Option<String>,
    pub(super) tag_type: Option<String>,
    pub(super) strategy_id: Option<String>,
    pub(super) new_user_id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) department: Option<String>,
    pub(super) main_department: Option<String>,
    pub(super) position: Option<String>,
    pub(super) status: Option<String>,
    pub(super) parent_id: Option<String>,
}

/// Where the text being read goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Not collecting (outside the root's children, or an unknown element).
    Skip,
    /// A root child with this name.
    Field,
    /// `MemChangeList` itself (its text is ignored).
    MemberList,
    /// An `Item` inside `MemChangeList`.
    Member,
}

impl Fields {
    pub(super) fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "ToUserName" => &mut self.to_user_name,
            "CreateTime" => &mut self.create_time,
            "MsgType" => &mut self.msg_type,
            "Event" => &mut self.event,
            "ChangeType" => &mut self.change_type,
            "AgentID" => &mut self.agent_id,
            "UserID" => &mut self.user_id,
            "ExternalUserID" => &mut self.external_user_id,
            "State" => &mut self.state,
            "WelcomeCode" => &mut self.welcome_code,
            "Source" => &mut self.source,
            "FailReason" => &mut self.fail_reason,
            "ChatId" => &mut self.chat_id,
            "UpdateDetail" => &mut self.update_detail,
            "JoinScene" => &mut self.join_scene,
            "QuitScene" => &mut self.quit_scene,
            "MemChangeCnt" => &mut self.mem_change_cnt,
            "LastMemVer" => &mut self.last_mem_ver,
            "CurMemVer" => &mut self.cur_mem_ver,
            "Id" => &mut self.id,
            "TagType" => &mut self.tag_type,
            "StrategyId" => &mut self.strategy_id,
            "NewUserID" => &mut self.new_user_id,
            "Name" => &mut self.name,
            "Department" => &mut self.department,
            "MainDepartment" => &mut self.main_department,
            "Position" => &mut self.position,
            "Status" => &mut self.status,
            "ParentId" => &mut self.parent_id,
            _ => return None,
        })
    }

    pub(super) fn read(xml: &str) -> Result<Self, ParseError> {
        let mut fields = Self::default();
        let mut reader = Reader::from_str(xml);
        let mut depth = 0usize;
        let mut seen_root = false;
        let mut target = Target::Skip;
        let mut name = String::new();
        let mut text = String::new();
        let mut had_cdata = false;
        loop {
            let event = reader.read_event().map_err(|e| ParseError::Malformed(e.to_string()))?;
            match event {
                Event::Start(_) | Event::Empty(_) if depth == 0 && seen_root => {
                    return Err(ParseError::Malformed("more than one root element".to_owned()));
                }
                Event::Empty(_) if depth == 0 => seen_root = true,
                Event::Start(_) if depth == 0 => {
                    seen_root = true;
                    depth = 1;
                }
                Event::Start(start) => {
                    depth += 1;
                    let local = start.local_name().into_inner();
                    target = match (depth, target) {
                        (2, _) if local == "MemChangeList" => Target::MemberList,
                        (2, _) if fields.slot(local).is_some() => {
                            name.clear();
                            name.push_str(local);
                            Target::Field
                        }
                        (2, _) => Target::Skip,
                        (3, Target::MemberList) if local == "Item" => Target::Member,
                        (_, current) => current,
                    };
                    if collecting(depth, target) {
                        text.clear();
                        had_cdata = false;
                    }
                }
                Event::Empty(start) => {
                    let local = start.local_name().into_inner();
                    match (depth, target) {
                        (1, _) => {
                            if let Some(slot) = fields.slot(local) {
                                *slot = Some(String::new());
                            }
                        }
                        (2, Target::MemberList) if local == "Item" => fields.mem_change_list.push(String::new()),
                        _ => {}
                    }
                }
                Event::End(_) => {
                    match (depth, target) {
                        (2, Target::Field) => {
                            if let Some(slot) = fields.slot(&name) {
                                *slot = Some(finish(&mut text, had_cdata));
                            }
                            target = Target::Skip;
                        }
                        (2, _) => target = Target::Skip,
                        (3, Target::Member) => {
                            fields.mem_change_list.push(finish(&mut text, had_cdata));
                            target = Target::MemberList;
                        }
                        _ => {}
                    }
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                Event::Text(t) if collecting(depth, target) => {
                    let content = t.xml10_content();
                    if !content.trim().is_empty() {
                        text.push_str(&content);
                    }
                }
                Event::CData(c) if collecting(depth, target) => {
                    text.push_str(&c.xml10_content());
                    had_cdata = true;
                }
                Event::GeneralRef(r) if collecting(depth, target) => match r.resolve_char_ref() {
                    Ok(Some(ch)) => text.push(ch),
                    _ => match resolve_predefined_entity(&r) {
                        Some(resolved) => text.push_str(resolved),
                        None => {
                            text.push('&');
                            text.push_str(&r);
                            text.push(';');
                        }
                    },
                },
                Event::Eof if depth > 0 => return Err(ParseError::Malformed("unexpected end of document".to_owned())),
                Event::Eof if !seen_root => return Err(ParseError::Malformed("no root element".to_owned())),
                Event::Eof => break,
                _ => {}
            }
        }
        Ok(fields)
    }

    fn into_callback(self) -> Result<Callback, ParseError> {
        let corp_id = self.to_user_name.ok_or(ParseError::MissingField("ToUserName"))?;
        let create_time = self.create_time.ok_or(ParseError::MissingField("CreateTime"))?;
        let create_time = create_time.trim().parse().map_err(|_| ParseError::InvalidField("CreateTime"))?;
        let msg_type = self.msg_type.ok_or(ParseError::MissingField("MsgType"))?;
        let agent_id = non_empty(self.agent_id);
        let change_type = self.change_type.unwrap_or_default();
        let event = match self.event.as_deref().unwrap_or_default() {
            "change_external_contact" => CallbackEvent::ExternalContact(ContactChange {
                change: ContactChangeKind::from_wire(&change_type),
                user_id: self.user_id.unwrap_or_default(),
                external_user_id: self.external_user_id.unwrap_or_default(),
                state: non_empty(self.state),
                welcome_code: non_empty(self.welcome_code),
                source: non_empty(self.source),
                fail_reason: non_empty(self.fail_reason),
            }),
            "change_external_chat" => CallbackEvent::ExternalChat(ChatChange {
                chat_id: self.chat_id.unwrap_or_default(),
                change_type: ChatChangeType::from_wire(&change_type),
                update_detail: non_empty(self.update_detail).map(|d| ChatUpdateDetail::from_wire(&d)),
                join_scene: number(self.join_scene.as_deref()),
                quit_scene: number(self.quit_scene.as_deref()),
                mem_change_cnt: number(self.mem_change_cnt.as_deref()),
                mem_change_list: self.mem_change_list,
                last_mem_ver: non_empty(self.last_mem_ver),
                cur_mem_ver: non_empty(self.cur_mem_ver),
            }),
            "change_external_tag" => CallbackEvent::ExternalTag(TagChange {
                id: self.id.unwrap_or_default(),
                tag_type: non_empty(self.tag_type).map(|t| TagType::from_wire(&t)),
                change_type: TagChangeType::from_wire(&change_type),
                strategy_id: number(self.strategy_id.as_deref()),
            }),
            "change_contact" => CallbackEvent::Contact(StaffChange {
                change_type: StaffChangeType::from_wire(&change_type),
                user_id: non_empty(self.user_id),
                new_user_id: non_empty(self.new_user_id),
                name: non_empty(self.name),
                department: self
                    .department
                    .as_deref()
                    .map(|d| d.split(',').filter_map(|part| number(Some(part))).collect())
                    .unwrap_or_default(),
                main_department: number(self.main_department.as_deref()),
                position: non_empty(self.position),
                status: number(self.status.as_deref()),
                party_id: number(self.id.as_deref()),
                parent_id: number(self.parent_id.as_deref()),
            }),
            "msgaudit_notify" => CallbackEvent::MsgAuditNotify,
            _ => CallbackEvent::Other { msg_type, event: self.event.unwrap_or_default(), change_type },
        };
        Ok(Callback { corp_id, create_time, agent_id, event })
    }
}

fn collecting(depth: usize, target: Target) -> bool {
    matches!((depth, target), (2, Target::Field) | (3, Target::Member))
}

/// The collected value: text outside CDATA is trimmed; CDATA content is kept as sent.
fn finish(text: &mut String, had_cdata: bool) -> String {
    let value = std::mem::take(text);
    if had_cdata {
        return value;
    }
    let trimmed = value.trim();
    if trimmed.len() == value.len() { value } else { trimmed.to_owned() }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn number(value: Option<&str>) -> Option<i64> {
    value.and_then(|v| v.trim().parse().ok())
}
