//! The customer page's "沙盒消息" card: what journeys sent this customer through the `sandbox` channel,
//! shown as a chat (the channel records what would be sent until WeCom and SMS deliver for real).

use siyu_app::AppError;
use siyu_domain::id::CustomerId;

use super::view::fmt_time;
use crate::auth::ConsoleActor;
use crate::state::AppState;

/// Messages the card shows, newest last.
const SHOWN: usize = 20;

pub struct Bubble {
    pub body: String,
    pub channel: String,
    pub at: String,
}

pub struct SandboxCard {
    pub messages: Vec<Bubble>,
    /// Older messages left out.
    pub more: usize,
}

impl SandboxCard {
    pub async fn load(state: &AppState, ca: &ConsoleActor, customer: CustomerId) -> Result<Self, AppError> {
        let all = state.app.sandbox_messages(&ca.actor, customer).await?;
        let more = all.len().saturating_sub(SHOWN);
        let messages = all
            .into_iter()
            .skip(more)
            .map(|m| Bubble { body: m.body, channel: m.channel, at: fmt_time(&m.at) })
            .collect();
        Ok(Self { messages, more })
    }
}
