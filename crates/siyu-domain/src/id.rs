//! Typed identifiers. Every id is a UUIDv7 (time ordered) wrapped in a newtype so a `TagId` can never be
//! passed where a `CustomerId` is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    )+};
}

id_type!(
    /// A tenant: one brand (or one agency client).
    TenantId,
    /// A login account; the same account may be a member of several tenants.
    UserId,
    DepartmentId,
    CustomerId,
    IdentityId,
    TagGroupId,
    TagId,
    FieldId,
    NoteId,
    TimelineId,
    ApiTokenId,
    AuditId,
    JobId,
    UploadId,
    /// A source of events (one write key) of a tenant.
    SourceId,
    /// An accepted event.
    EventId,
    /// A quarantined (invalid) event item.
    QuarantineId,
    /// An order imported from a platform export.
    OrderId,
    /// A privacy request (access export or erasure) about one customer.
    PrivacyRequestId,
    /// A link between two identities in the identity graph (append-only).
    EdgeId,
    /// Two customers made one.
    MergeId,
    /// A merge undone.
    UnmergeId,
    /// A possible same person, for an operator to review.
    SuggestionId,
    /// A saved audience definition.
    SegmentId,
    /// One entry or exit of a customer in a segment.
    MembershipChangeId,
    /// A segment's ad audience file regenerated on a schedule.
    AudienceSyncId,
    /// A journey (SOP): a versioned graph customers move through one by one.
    JourneyId,
    /// A to-do for a staff member about one customer (e.g. created by a journey's task node).
    TaskId,
    /// A WeCom corp a tenant connected (its row, not WeCom's corp id).
    CorpId,
    /// A persisted WeCom callback.
    CallbackId,
    /// A WeCom customer group (客户群).
    GroupId,
    /// A staff live code (员工活码).
    LiveCodeId,
    /// A mass send (企业群发) task.
    MassSendId,
    /// A group live code (群活码): a WeCom join way siyu rolls over to the next group.
    GroupCodeId,
    /// A group welcome template (入群欢迎语素材).
    GroupWelcomeId,
    /// A customer-moments (客户朋友圈) task.
    MomentId,
    /// A customer inheritance (在职/离职继承) batch.
    TransferId,
    /// A local label on customer groups (群标签).
    GroupTagId,
    /// A group SOP template (群SOP): timed steps sent to the groups it is applied to.
    SopId,
    /// A conversation of the session archive (会话存档): a 1:1 chat or a group chat.
    ConversationId,
    /// An archived chat message.
    ArchiveMessageId,
    /// A tenant's sensitive-word list (敏感词库).
    WordListId,
    /// A session-archive rule: sensitive words, a sensitive behaviour or a group anti-harassment rule.
    ArchiveRuleId,
    /// A rule's hit, for auditors to review.
    AlertId,
    /// A group of quick-reply scripts (话术分组).
    ScriptGroupId,
    /// A quick-reply script (话术).
    ScriptId,
    /// A tracked link (one per target × staff × customer).
    LinkId,
    /// One open of a tracked link.
    LinkOpenId,
    /// A material of the library (素材).
    MaterialId,
    /// A folder of the material library.
    MaterialFolderId,
);
