//! A router builder that remembers every (method, path) it registers, so tests can enumerate the whole
//! HTTP surface from the router itself (tenant isolation is checked route by route).

use std::sync::Mutex;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::state::AppState;

/// Every route registered through [`Routes`], in registration order.
static TABLE: Mutex<Vec<(&'static str, &'static str)>> = Mutex::new(Vec::new());

/// The routes registered so far (build the router first).
pub fn table() -> Vec<(&'static str, &'static str)> {
    let mut t = TABLE.lock().map(|t| t.clone()).unwrap_or_default();
    t.sort_unstable();
    t.dedup();
    t
}

pub struct Routes(Router<AppState>);

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self(Router::new())
    }

    fn add(self, method: &'static str, path: &'static str, mr: MethodRouter<AppState>) -> Self {
        if let Ok(mut t) = TABLE.lock() {
            t.push((method, path));
        }
        Self(self.0.route(path, mr))
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("GET", path, get(h))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("POST", path, post(h))
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("PATCH", path, patch(h))
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("PUT", path, put(h))
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("DELETE", path, delete(h))
    }

    pub fn into_router(self) -> Router<AppState> {
        self.0
    }
}

impl From<Routes> for Router<AppState> {
    fn from(r: Routes) -> Self {
        r.0
    }
}
