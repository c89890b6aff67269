//! How errors become responses: JSON `{code, message, request_id}` for the API. 5xx messages are opaque;
//! the real error is logged once with the request id.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use siyu_app::AppError;

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `invalid_input`, `not_found`.
    pub code: String,
    pub message: String,
    pub request_id: String,
    /// The offending field, when the error is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem of an `invalid_definition`, each with a JSON pointer (and a text span).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<siyu_domain::segment::check::DefinitionError>,
}

/// An [`AppError`] on its way out of an API handler. The request id is filled in by middleware.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl From<siyu_domain::Invalid> for ApiError {
    fn from(e: siyu_domain::Invalid) -> Self {
        Self(AppError::Invalid(e))
    }
}

/// Marks a response as an API error so the request-id middleware can complete its body.
#[derive(Clone)]
pub struct ErrorMarker;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_server_error() { "internal error".to_string() } else { self.0.to_string() };
        if status.is_server_error() {
            tracing::error!(error = ?self.0, "request failed");
        }
        let body = ErrorBody {
            code: code.name().to_string(),
            message,
            request_id: String::new(),
            field: self.0.field().map(str::to_string),
            errors: match &self.0 {
                AppError::InvalidDefinition(errors) => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut res = (status, Json(body)).into_response();
        if let AppError::RateLimited { retry_after_secs } = self.0
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            res.headers_mut().insert("retry-after", v);
        }
        res.extensions_mut().insert(ErrorMarker);
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `Json` with our error shape for malformed bodies, unknown fields and wrong types.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rej) => Err(ApiError(json_rejection(rej))),
        }
    }
}

fn json_rejection(rej: JsonRejection) -> AppError {
    match rej {
        JsonRejection::MissingJsonContentType(_) => {
            AppError::UnsupportedMediaType("expected Content-Type: application/json".into())
        }
        JsonRejection::JsonDataError(e) => AppError::Malformed(format!("invalid JSON body: {}", e.body_text())),
        JsonRejection::JsonSyntaxError(e) => AppError::Malformed(format!("malformed JSON: {}", e.body_text())),
        JsonRejection::BytesRejection(_) => AppError::PayloadTooLarge,
        other => AppError::Malformed(other.body_text()),
    }
}

/// `Query` with our error shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError(AppError::Malformed(format!("invalid query: {}", e.body_text()))))
            }
            Err(e) => Err(ApiError(AppError::Malformed(e.body_text()))),
        }
    }
}

/// Path ids that are not UUIDs are simply not found.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(_) => Err(ApiError(AppError::NotFound)),
        }
    }
}
