//! Bearer tokens mapped to roles (SPEC §9): stored as SHA-256 hashes only, compared in
//! constant time, never logged.

use std::fmt;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Finance,
    Hr,
    Exec,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Finance, Role::Hr, Role::Exec];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Finance => "finance",
            Role::Hr => "hr",
            Role::Exec => "exec",
        }
    }

    /// The environment variable a clear token for this role may come from.
    pub fn env_var(self) -> &'static str {
        match self {
            Role::Finance => "ACCRUE_TOKEN_FINANCE",
            Role::Hr => "ACCRUE_TOKEN_HR",
            Role::Exec => "ACCRUE_TOKEN_EXEC",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which roles may call an endpoint (SPEC §9's matrix).
pub mod allowed {
    use super::Role;
    /// Plans list and detail, curve, explain.
    pub const ANY: &[Role] = &[Role::Finance, Role::Hr, Role::Exec];
    /// Validate, admin reload.
    pub const FINANCE: &[Role] = &[Role::Finance];
    /// Simulate, Monte Carlo, saved scenarios.
    pub const HR_FINANCE: &[Role] = &[Role::Hr, Role::Finance];
    /// Alignment.
    pub const EXEC_FINANCE: &[Role] = &[Role::Exec, Role::Finance];
}

/// The known tokens, as SHA-256 hashes.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<([u8; 32], Role)>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Even hashes stay out of logs.
        write!(f, "Tokens({} configured)", self.entries.len())
    }
}

pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two hashes in constant time: a hand-written loop over equal-length arrays, every
/// byte looked at whatever the first difference (no early exit to time).
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

impl Tokens {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn add_hash(&mut self, role: Role, hash: [u8; 32]) {
        self.entries.push((hash, role));
    }

    pub fn add_token(&mut self, role: Role, token: &str) {
        self.add_hash(role, hash(token));
    }

    /// The role of a presented token; every entry is compared (no early exit).
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let presented = hash(token);
        let mut found = None;
        for (known, role) in &self.entries {
            if same(known, &presented) && found.is_none() {
                found = Some(*role);
            }
        }
        found
    }

    /// One random token per role (32 bytes from the OS, hex): for a server started without
    /// any configured, so it never runs open.
    pub fn generate() -> anyhow::Result<(Tokens, Vec<(Role, String)>)> {
        let mut tokens = Tokens::default();
        let mut clear = Vec::new();
        for role in Role::ALL {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            tokens.add_token(role, &token);
            clear.push((role, token));
        }
        Ok((tokens, clear))
    }
}

/// The caller's role, put in the request's extensions by [`require`] (and in the response's,
/// for the request log).
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Role);

/// Middleware: 401 without a token or with an unknown one, 403 when the token's role is not
/// in `roles`.
pub async fn require(
    State((state, roles)): State<(AppState, &'static [Role])>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let token = header
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return ApiError::new(ErrorCode::Unauthorized, "this endpoint needs `Authorization: Bearer TOKEN`")
            .into_response();
    };
    let Some(role) = state.tokens().role_of(token) else {
        return ApiError::new(ErrorCode::Unauthorized, "the bearer token is not known to this server").into_response();
    };
    if !roles.contains(&role) {
        let may: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        let mut response = ApiError::new(
            ErrorCode::Forbidden,
            format!("role `{role}` may not call this endpoint (allowed: {})", may.join(", ")),
        )
        .into_response();
        response.extensions_mut().insert(Caller(role));
        return response;
    }
    request.extensions_mut().insert(Caller(role));
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Caller(role));
    response
}
