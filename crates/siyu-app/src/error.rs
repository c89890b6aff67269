//! The one error-code table, and the error type every service returns.
//!
//! Each [`ErrorCode`] has a stable snake_case name (what API clients and the console match on), an HTTP
//! status, and whether retrying may help. `siyu-web` renders [`AppError`] as `{code, message, request_id}`
//! or as an inline console message.

use siyu_domain::segment::check::DefinitionError;
use siyu_domain::{DomainError, Invalid};
use siyu_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidInput,
    InvalidDefinition,
    MalformedRequest,
    MaskedPhone,
    Unauthenticated,
    InvalidCredentials,
    CsrfFailed,
    Forbidden,
    TenantSuspended,
    NotFound,
    Conflict,
    DuplicateIdentity,
    CustomerErased,
    IdempotencyKeyReused,
    IdempotencyInFlight,
    PayloadTooLarge,
    UnsupportedMediaType,
    MaterialTooLarge,
    MaterialTypeMismatch,
    MaterialUnsupportedType,
    MaterialCorruptImage,
    RateLimited,
    Internal,
    Unavailable,
}

/// (code, name, HTTP status, retryable)
pub const ERROR_TABLE: &[(ErrorCode, &str, u16, bool)] = &[
    (ErrorCode::InvalidInput, "invalid_input", 400, false),
    (ErrorCode::InvalidDefinition, "invalid_definition", 400, false),
    (ErrorCode::MalformedRequest, "malformed_request", 400, false),
    (ErrorCode::MaskedPhone, "masked_phone", 400, false),
    (ErrorCode::Unauthenticated, "unauthenticated", 401, false),
    (ErrorCode::InvalidCredentials, "invalid_credentials", 401, false),
    (ErrorCode::CsrfFailed, "csrf_failed", 403, false),
    (ErrorCode::Forbidden, "forbidden", 403, false),
    (ErrorCode::TenantSuspended, "tenant_suspended", 403, false),
    (ErrorCode::NotFound, "not_found", 404, false),
    (ErrorCode::Conflict, "conflict", 409, false),
    (ErrorCode::DuplicateIdentity, "duplicate_identity", 409, false),
    (ErrorCode::CustomerErased, "customer_erased", 409, false),
    (ErrorCode::IdempotencyKeyReused, "idempotency_key_reused", 422, false),
    (ErrorCode::IdempotencyInFlight, "idempotency_in_flight", 409, true),
    (ErrorCode::PayloadTooLarge, "payload_too_large", 413, false),
    (ErrorCode::UnsupportedMediaType, "unsupported_media_type", 415, false),
    (ErrorCode::MaterialTooLarge, "material_too_large", 413, false),
    (ErrorCode::MaterialTypeMismatch, "material_type_mismatch", 415, false),
    (ErrorCode::MaterialUnsupportedType, "material_unsupported_type", 415, false),
    (ErrorCode::MaterialCorruptImage, "material_corrupt_image", 422, false),
    (ErrorCode::RateLimited, "rate_limited", 429, true),
    (ErrorCode::Internal, "internal", 500, true),
    (ErrorCode::Unavailable, "unavailable", 503, true),
];

impl ErrorCode {
    fn row(self) -> (&'static str, u16, bool) {
        ERROR_TABLE.iter().find(|r| r.0 == self).map(|r| (r.1, r.2, r.3)).unwrap_or(("internal", 500, true))
    }
    pub fn name(self) -> &'static str {
        self.row().0
    }
    pub fn status(self) -> u16 {
        self.row().1
    }
    pub fn retryable(self) -> bool {
        self.row().2
    }
}

/// What went wrong in a service call.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(Invalid),
    /// A segment definition with problems, each pointing at its part.
    #[error("the definition has {} problem(s): {}", .0.len(), describe(.0))]
    InvalidDefinition(Vec<DefinitionError>),
    #[error("{0}")]
    Malformed(String),
    #[error("masked phone numbers (138****1234) cannot be stored; enter the full number")]
    MaskedPhone,
    #[error("sign in first")]
    Unauthenticated,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("the form expired; reload the page and try again")]
    CsrfFailed,
    #[error("you do not have permission to do this")]
    Forbidden,
    #[error("this tenant is suspended")]
    TenantSuspended,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("this identity already belongs to another customer")]
    DuplicateIdentity,
    #[error("this customer was erased (PIPL): their data can no longer be changed")]
    CustomerErased,
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInFlight,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// An upload to the material library refused (size, type, undecodable image).
    #[error("{0}")]
    Material(#[from] siyu_domain::material::MaterialError),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidInput,
            Self::InvalidDefinition(_) => ErrorCode::InvalidDefinition,
            Self::Malformed(_) => ErrorCode::MalformedRequest,
            Self::MaskedPhone => ErrorCode::MaskedPhone,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::CsrfFailed => ErrorCode::CsrfFailed,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::TenantSuspended => ErrorCode::TenantSuspended,
            Self::NotFound => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::DuplicateIdentity => ErrorCode::DuplicateIdentity,
            Self::CustomerErased => ErrorCode::CustomerErased,
            Self::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Self::IdempotencyInFlight => ErrorCode::IdempotencyInFlight,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::Material(e) => {
                use siyu_domain::material::MaterialError as M;
                match e {
                    M::TooLarge { .. } => ErrorCode::MaterialTooLarge,
                    M::TypeMismatch { .. } => ErrorCode::MaterialTypeMismatch,
                    M::UnsupportedType { .. } => ErrorCode::MaterialUnsupportedType,
                    M::CorruptImage => ErrorCode::MaterialCorruptImage,
                }
            }
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(Invalid::new(field, reason))
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    /// The field an `Invalid` error is about (for inline console messages).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid(i) => Some(&i.field),
            Self::MaskedPhone | Self::DuplicateIdentity => Some("phone"),
            Self::Material(_) => Some("file"),
            _ => None,
        }
    }
}

impl From<Invalid> for AppError {
    fn from(i: Invalid) -> Self {
        Self::Invalid(i)
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(i) => Self::Invalid(i),
            DomainError::MaskedPhone => Self::MaskedPhone,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(c) if c.contains("identities") => Self::DuplicateIdentity,
            StoreError::Conflict(c) => Self::Conflict(conflict_message(&c)),
            other => Self::Internal(other.into()),
        }
    }
}

fn conflict_message(constraint: &str) -> String {
    if constraint.contains("username") {
        "this username is taken".into()
    } else if constraint.contains("tags") || constraint.contains("group_id") {
        "a tag with this name already exists in the group".into()
    } else if constraint.contains("fields") || constraint.contains("key") {
        "a field with this key already exists".into()
    } else if constraint.contains("material_folder_not_empty") {
        "the folder still holds folders or materials".into()
    } else if constraint.contains("department_not_empty") {
        "the department still has members or sub-departments".into()
    } else if constraint.contains("members") {
        "this user is already a member".into()
    } else {
        "this conflicts with existing data".into()
    }
}

fn describe(errors: &[DefinitionError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            let at = if e.path.is_empty() { "/" } else { e.path.as_str() };
            if e.detail.is_empty() {
                format!("{} at {at}", e.code)
            } else {
                format!("{} `{}` at {at}", e.code, e.detail)
            }
        })
        .collect();
    parts.join("; ")
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_exactly_one_row_with_a_unique_name() {
        let mut names: Vec<&str> = ERROR_TABLE.iter().map(|r| r.1).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ERROR_TABLE.len());
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }

    /// Each error variant must be raised somewhere outside this file, or it is dead weight in the table.
    #[test]
    fn every_error_code_is_produced_somewhere() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut sources = String::new();
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if !path.ends_with("target") && !path.ends_with("tests") {
                        stack.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("siyu-app/src/error.rs") {
                    sources.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let variants = [
            ("InvalidInput", "AppError::invalid("),
            ("InvalidDefinition", "map_err(AppError::InvalidDefinition)"),
            ("MalformedRequest", "AppError::Malformed("),
            ("MaskedPhone", "DomainError::MaskedPhone"),
            ("Unauthenticated", "AppError::Unauthenticated"),
            ("InvalidCredentials", "AppError::InvalidCredentials"),
            ("CsrfFailed", "AppError::CsrfFailed"),
            ("Forbidden", "AppError::Forbidden"),
            ("TenantSuspended", "AppError::TenantSuspended"),
            ("NotFound", "AppError::NotFound"),
            ("Conflict", "StoreError::Conflict("),
            ("DuplicateIdentity", "Conflict(\"identities_lookup"),
            ("CustomerErased", "AppError::CustomerErased"),
            ("IdempotencyKeyReused", "AppError::IdempotencyKeyReused"),
            ("IdempotencyInFlight", "AppError::IdempotencyInFlight"),
            ("PayloadTooLarge", "AppError::PayloadTooLarge"),
            ("UnsupportedMediaType", "AppError::UnsupportedMediaType("),
            ("MaterialTooLarge", "MaterialError::TooLarge {"),
            ("MaterialTypeMismatch", "MaterialError::TypeMismatch {"),
            ("MaterialUnsupportedType", "MaterialError::UnsupportedType {"),
            ("MaterialCorruptImage", "MaterialError::CorruptImage"),
            ("RateLimited", "AppError::RateLimited {"),
            ("Internal", "AppError::internal("),
            ("Unavailable", "AppError::Unavailable"),
        ];
        assert_eq!(variants.len(), ERROR_TABLE.len(), "every code is listed here");
        for (name, needle) in variants {
            assert!(sources.contains(needle), "{name}: nothing raises it ({needle})");
        }
    }
}
