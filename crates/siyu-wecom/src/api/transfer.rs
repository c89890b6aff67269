//! Transfers (在职/离职继承, reference/wecom.md §4.8): customers and groups from one staff member to another,
//! while the first is still employed (on-job) or after they left (resigned). Not the deprecated
//! `externalcontact/transfer`.

use serde::{Deserialize, Serialize};

use super::common::{check_chars, check_count, check_present, lenient_i64};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The most customers or groups of one transfer call.
pub const TRANSFER_MAX: usize = 100;
/// The longest `transfer_success_msg`, in characters.
pub const TRANSFER_MSG_MAX_CHARS: usize = 200;

/// The body of the on-job `transfer_customer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferCustomerRequest {
    /// The staff handing over.
    pub handover_userid: String,
    /// The staff taking over.
    pub takeover_userid: String,
    /// The customers (≤100; each at most twice per 90 days).
    pub external_userid: Vec<String>,
    /// The message the customers see, ≤200 characters (WeCom's default when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_success_msg: Option<String>,
}

impl TransferCustomerRequest {
    /// Checks the customer count (1 to 100) and the message length.
    pub fn validate(&self) -> Result<(), WecomError> {
        check_present("external_userid", !self.external_userid.is_empty())?;
        check_count("external_userid", self.external_userid.len(), TRANSFER_MAX)?;
        check_chars(
            "transfer_success_msg",
            self.transfer_success_msg.as_deref().unwrap_or_default(),
            TRANSFER_MSG_MAX_CHARS,
        )
    }
}

/// One customer's outcome of a transfer call: 0 = started (not finished), else why not (e.g. 40096).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerTransfer {
    /// The customer.
    pub external_userid: String,
    /// Per-customer errcode.
    pub errcode: i64,
}

/// One customer's progress in `transfer_result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransferStatus {
    /// The customer.
    pub external_userid: String,
    /// 1 taken over, 2 waiting, 3 refused, 4 the takeover staff is at their customer limit.
    pub status: i64,
    /// When it is (waiting) or was taken over (unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub takeover_time: i64,
}

/// A page of `transfer_result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransferResultPage {
    /// The customers of this page.
    pub customer: Vec<TransferStatus>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// A customer of a staff member who left, awaiting assignment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnassignedCustomer {
    /// The staff who left.
    pub handover_userid: String,
    /// The customer.
    pub external_userid: String,
    /// When the staff left (unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub dimission_time: i64,
}

/// A page of `get_unassigned_list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnassignedPage {
    /// The customers of this page.
    pub info: Vec<UnassignedCustomer>,
    /// Whether this is the last page.
    pub is_last: bool,
    /// The cursor of the next page.
    pub next_cursor: String,
}

/// A group a group transfer could not move.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailedChat {
    /// The group.
    pub chat_id: String,
    /// Why.
    pub errcode: i64,
    /// Why, in words.
    pub errmsg: String,
}

#[derive(Serialize)]
struct ResignedTransfer<'a> {
    handover_userid: &'a str,
    takeover_userid: &'a str,
    external_userid: &'a [String],
}

#[derive(Serialize)]
struct TransferResultRequest<'a> {
    handover_userid: &'a str,
    takeover_userid: &'a str,
    cursor: &'a str,
}

#[derive(Serialize)]
struct UnassignedRequest<'a> {
    cursor: &'a str,
    page_size: u32,
}

#[derive(Serialize)]
struct GroupTransfer<'a> {
    chat_id_list: &'a [String],
    new_owner: &'a str,
}

#[derive(Deserialize)]
struct CustomerReply {
    #[serde(default)]
    customer: Vec<CustomerTransfer>,
}

#[derive(Deserialize)]
struct GroupTransferReply {
    #[serde(default)]
    failed_chat_list: Vec<FailedChat>,
}

impl Client {
    /// `externalcontact/transfer_customer` (on-job): the per-customer errcodes; takeover follows 24 h later.
    pub async fn transfer_customer(
        &self,
        creds: &CorpCredentials,
        request: &TransferCustomerRequest,
    ) -> Result<Vec<CustomerTransfer>, WecomError> {
        request.validate()?;
        let reply: CustomerReply = self.post(creds, "externalcontact/transfer_customer", request).await?;
        Ok(reply.customer)
    }

    /// `externalcontact/transfer_result` (on-job): a page of the progress of `handover` → `takeover`.
    pub async fn transfer_result(
        &self,
        creds: &CorpCredentials,
        handover_userid: &str,
        takeover_userid: &str,
        cursor: &str,
    ) -> Result<TransferResultPage, WecomError> {
        let body = TransferResultRequest { handover_userid, takeover_userid, cursor };
        self.post(creds, "externalcontact/transfer_result", &body).await
    }

    /// `externalcontact/get_unassigned_list`: a page of the customers of staff who left, `page_size` ≤1000.
    pub async fn get_unassigned_list(
        &self,
        creds: &CorpCredentials,
        cursor: &str,
        page_size: u32,
    ) -> Result<UnassignedPage, WecomError> {
        check_count("page_size", page_size as usize, 1000)?;
        self.post(creds, "externalcontact/get_unassigned_list", &UnassignedRequest { cursor, page_size }).await
    }

    /// `externalcontact/resigned/transfer_customer`: ≤100 customers of a staff member who left.
    pub async fn resigned_transfer_customer(
        &self,
        creds: &CorpCredentials,
        handover_userid: &str,
        takeover_userid: &str,
        external_userids: &[String],
    ) -> Result<Vec<CustomerTransfer>, WecomError> {
        check_present("external_userid", !external_userids.is_empty())?;
        check_count("external_userid", external_userids.len(), TRANSFER_MAX)?;
        let body = ResignedTransfer { handover_userid, takeover_userid, external_userid: external_userids };
        let reply: CustomerReply = self.post(creds, "externalcontact/resigned/transfer_customer", &body).await?;
        Ok(reply.customer)
    }

    /// `externalcontact/resigned/transfer_result`: as [`Client::transfer_result`], for staff who left.
    pub async fn resigned_transfer_result(
        &self,
        creds: &CorpCredentials,
        handover_userid: &str,
        takeover_userid: &str,
        cursor: &str,
    ) -> Result<TransferResultPage, WecomError> {
        let body = TransferResultRequest { handover_userid, takeover_userid, cursor };
        self.post(creds, "externalcontact/resigned/transfer_result", &body).await
    }

    /// `externalcontact/groupchat/transfer`: ≤100 groups of a staff member who left to `new_owner`.
    pub async fn groupchat_transfer(
        &self,
        creds: &CorpCredentials,
        chat_ids: &[String],
        new_owner: &str,
    ) -> Result<Vec<FailedChat>, WecomError> {
        self.group_transfer(creds, "externalcontact/groupchat/transfer", chat_ids, new_owner).await
    }

    /// `externalcontact/groupchat/onjob_transfer`: ≤100 groups of an employed staff member to `new_owner`.
    pub async fn groupchat_onjob_transfer(
        &self,
        creds: &CorpCredentials,
        chat_ids: &[String],
        new_owner: &str,
    ) -> Result<Vec<FailedChat>, WecomError> {
        self.group_transfer(creds, "externalcontact/groupchat/onjob_transfer", chat_ids, new_owner).await
    }

    async fn group_transfer(
        &self,
        creds: &CorpCredentials,
        path: &str,
        chat_id_list: &[String],
        new_owner: &str,
    ) -> Result<Vec<FailedChat>, WecomError> {
        check_present("chat_id_list", !chat_id_list.is_empty())?;
        check_count("chat_id_list", chat_id_list.len(), TRANSFER_MAX)?;
        check_present("new_owner", !new_owner.is_empty())?;
        let reply: GroupTransferReply = self.post(creds, path, &GroupTransfer { chat_id_list, new_owner }).await?;
        Ok(reply.failed_chat_list)
    }
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
