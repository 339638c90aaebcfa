//! `ApiError`: the one error type of every handler, rendered as
//! `{"error":{"code","message","details"}}` with a stable snake_case code (SPEC §9).

use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::wire::DiagnosticBody;

/// Every error code the API answers with; stable, listed in the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not JSON.
    MalformedJson,
    /// 422: the JSON does not have the request's shape (a missing field, a wrong type, an
    /// unknown field).
    InvalidRequest,
    /// 422: a JSON float where an exact number is required (write it as a string).
    FloatNotAllowed,
    /// 401: no bearer token, or one the server does not know.
    Unauthorized,
    /// 403: a valid token whose role may not call this endpoint.
    Forbidden,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists with another method.
    MethodNotAllowed,
    /// 404: the request names a plan the server does not serve.
    UnknownPlan,
    /// 404: the request names a data set the server does not serve.
    UnknownData,
    /// 404: no saved scenario with that id.
    UnknownScenario,
    /// 422: the plan has no such role.
    UnknownRole,
    /// 422: an inline plan (or script) that does not parse or validate; details carry file,
    /// line and column.
    InvalidPlan,
    /// 422: inline data that does not parse, or data that does not fit the plan.
    InvalidData,
    /// 422: a change that does not fit the plan or data (an unknown parameter, role, team,
    /// payee or measure; a malformed value).
    InvalidChange,
    /// 422: an option outside its bounds (draws, grid size, curve steps).
    LimitExceeded,
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// 429: too many expensive requests at once; retry later.
    TooManyRequests,
    /// 503: the request did not finish before its deadline.
    DeadlineExceeded,
    /// 500: a fault of the server; the message shows no internals.
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::MalformedJson => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound | ErrorCode::UnknownPlan | ErrorCode::UnknownData | ErrorCode::UnknownScenario => {
                StatusCode::NOT_FOUND
            }
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::InvalidRequest
            | ErrorCode::FloatNotAllowed
            | ErrorCode::UnknownRole
            | ErrorCode::InvalidPlan
            | ErrorCode::InvalidData
            | ErrorCode::InvalidChange
            | ErrorCode::LimitExceeded => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        ALL.iter().find(|(c, _)| *c == self).map_or("internal", |(_, s)| s)
    }
}

/// Every code with its wire name (the OpenAPI test checks the enum lists them all).
pub const ALL: &[(ErrorCode, &str)] = &[
    (ErrorCode::MalformedJson, "malformed_json"),
    (ErrorCode::InvalidRequest, "invalid_request"),
    (ErrorCode::FloatNotAllowed, "float_not_allowed"),
    (ErrorCode::Unauthorized, "unauthorized"),
    (ErrorCode::Forbidden, "forbidden"),
    (ErrorCode::NotFound, "not_found"),
    (ErrorCode::MethodNotAllowed, "method_not_allowed"),
    (ErrorCode::UnknownPlan, "unknown_plan"),
    (ErrorCode::UnknownData, "unknown_data"),
    (ErrorCode::UnknownScenario, "unknown_scenario"),
    (ErrorCode::UnknownRole, "unknown_role"),
    (ErrorCode::InvalidPlan, "invalid_plan"),
    (ErrorCode::InvalidData, "invalid_data"),
    (ErrorCode::InvalidChange, "invalid_change"),
    (ErrorCode::LimitExceeded, "limit_exceeded"),
    (ErrorCode::PayloadTooLarge, "payload_too_large"),
    (ErrorCode::TooManyRequests, "too_many_requests"),
    (ErrorCode::DeadlineExceeded, "deadline_exceeded"),
    (ErrorCode::Internal, "internal"),
];

/// An error answer: a code, a precise message for the caller, and located details (plan
/// diagnostics with file, line and column) where there are any.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<DiagnosticBody>,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<DiagnosticBody>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), details: Vec::new() }
    }

    pub fn with_details(mut self, details: Vec<DiagnosticBody>) -> ApiError {
        self.details = details;
        self
    }

    /// A fault of the server: logged in full here, shown to the caller without internals.
    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %what, "internal error");
        ApiError::new(ErrorCode::Internal, "internal error: the server could not answer this request")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message, details: self.details } };
        let mut response = (status, axum::Json(body)).into_response();
        if self.code == ErrorCode::PayloadTooLarge {
            // The body was not read to its end: the connection cannot carry another request,
            // and the client must not put it back in its pool.
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
