//! The state handlers share.

use siyu_app::App;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
}
