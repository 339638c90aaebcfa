//! Accrue's HTTP API (SPEC §9): axum + tokio over the engine, holding no analysis logic of
//! its own. [`app`] builds the router (testable without a socket); [`serve`] loads the plans,
//! opens the database, binds and runs until SIGTERM or Ctrl-C, reloading on SIGHUP.

mod analysis;
mod auth;
mod catalog;
mod config;
mod confined;
mod error;
mod handlers;
mod openapi;
mod page;
mod state;
mod store;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;

pub use auth::{Role, Tokens, hash as token_hash};
pub use catalog::{Catalog, ServedPlan};
pub use config::{Config, Limits};
pub use error::{ALL as ERROR_CODES, ApiError, ErrorCode};
pub use openapi::{ApiDoc, document_json as openapi_json};
pub use state::AppState;
pub use store::Store;

use auth::{Caller, allowed, require};

/// Every route: method and path as the OpenAPI document writes them.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/openapi.json"),
    ("get", "/v1/plans"),
    ("get", "/v1/plans/{id}"),
    ("post", "/v1/plans/validate"),
    ("post", "/v1/simulate"),
    ("post", "/v1/montecarlo"),
    ("post", "/v1/alignment"),
    ("get", "/v1/plans/{id}/curve"),
    ("get", "/v1/plans/{id}/explain"),
    ("post", "/v1/scenarios"),
    ("get", "/v1/scenarios"),
    ("get", "/v1/scenarios/{id}"),
    ("post", "/v1/scenarios/{id}/run"),
    ("post", "/v1/admin/reload"),
];

/// The router over `state`: routes, the auth matrix, the body limit and request logs.
pub fn app(state: AppState) -> Router {
    let guard = |roles: &'static [Role]| middleware::from_fn_with_state((state.clone(), roles), require);
    let any_role = Router::new()
        .route("/v1/plans", get(handlers::plans))
        .route("/v1/plans/{id}", get(handlers::plan))
        .route("/v1/plans/{id}/curve", get(handlers::curve))
        .route("/v1/plans/{id}/explain", get(handlers::explain))
        .route_layer(guard(allowed::ANY));
    let finance = Router::new()
        .route("/v1/plans/validate", post(handlers::validate))
        .route("/v1/admin/reload", post(handlers::reload))
        .route_layer(guard(allowed::FINANCE));
    let hr_finance = Router::new()
        .route("/v1/simulate", post(handlers::simulate))
        .route("/v1/montecarlo", post(handlers::montecarlo))
        .route("/v1/scenarios", post(handlers::save_scenario).get(handlers::list_scenarios))
        .route("/v1/scenarios/{id}", get(handlers::get_scenario))
        .route("/v1/scenarios/{id}/run", post(handlers::run_scenario))
        .route_layer(guard(allowed::HR_FINANCE));
    let exec_finance =
        Router::new().route("/v1/alignment", post(handlers::alignment)).route_layer(guard(allowed::EXEC_FINANCE));
    let body_limit = state.limits().body_bytes;
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/openapi.json", get(handlers::openapi))
        .merge(any_role)
        .merge(finance)
        .merge(hr_finance)
        .merge(exec_finance)
        .merge(page::routes())
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(body_limit, refuse_oversized))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// 413 for a body whose declared length is over the limit, before any handler runs. The
/// rest of the body is read and dropped first (bounded in bytes and time, like a lingering
/// close): closing a socket with unread data resets it, and the client would see a broken
/// connection instead of the 413 it should read.
async fn refuse_oversized(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_none_or(|length| length <= limit as u64) {
        return next.run(request).await;
    }
    let budget = declared.unwrap_or(0).min(DRAIN_BYTES);
    let _ = tokio::time::timeout(DRAIN_TIME, drain(request.into_body(), budget)).await;
    ApiError::new(ErrorCode::PayloadTooLarge, "the request body is over the server's limit").into_response()
}

/// At most this much of an oversized body is read before the 413 is sent.
const DRAIN_BYTES: u64 = 64 << 20;
/// And for at most this long.
const DRAIN_TIME: Duration = Duration::from_secs(2);

async fn drain(mut body: Body, budget: u64) {
    let mut read = 0u64;
    while read < budget {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |data| data.len() as u64),
            _ => return,
        }
    }
}

/// One structured line per request: method, route, status, latency, role. Never the token
/// (it is not read here), never a body.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "(unmatched)".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let role = response.extensions().get::<Caller>().map_or("-", |c| c.0.as_str());
    tracing::info!(
        %method,
        %route,
        status = response.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        %role,
        "request"
    );
    response
}

/// What `accrue serve` takes.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub plans: PathBuf,
    pub config: Option<PathBuf>,
    /// The database; default `accrue.db` next to the plans folder.
    pub db: Option<PathBuf>,
}

/// Installs the request log (RUST_LOG honoured, `info` by default) to standard error.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

/// Loads the plans, opens the database, binds `options.addr` and serves until SIGTERM or
/// Ctrl-C (in-flight requests finish first); SIGHUP reloads the plans.
pub async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    init_logging();
    let config = match &options.config {
        Some(path) => Config::read(path)?,
        None => Config::default(),
    };
    let limits = config.limits()?;
    let tokens = tokens(&config)?;
    let plans = options.plans.clone();
    let script_limits = accrue_engine::ScriptLimits::default();
    let catalog = tokio::task::spawn_blocking(move || Catalog::load(&plans, script_limits)).await?;
    for (id, plan) in &catalog.plans {
        tracing::info!(plan = %id, folder = %plan.folder.display(), "plan loaded");
    }
    if catalog.plans.is_empty() {
        tracing::warn!(plans = %options.plans.display(), "no plan served: no folder with a plan.yaml loaded");
    }
    let db = options.db.clone().unwrap_or_else(|| default_db(&options.plans));
    let store = Store::open(&db)?;
    tracing::info!(db = %db.display(), "database open");
    let state = AppState::new(tokens, options.plans.clone(), catalog, store, limits)?;
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .with_context(|| format!("cannot listen on {}", options.addr))?;
    let bound = listener.local_addr()?;
    // Said on standard error in a fixed form: scripts and tests read the port from it.
    eprintln!("accrue serve: listening on http://{bound}");
    tracing::info!(addr = %bound, "listening");
    reload_on_hangup(state.clone());
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("shut down");
    Ok(())
}

/// `accrue.db` beside the plans folder (`plans/` → `./accrue.db`).
fn default_db(plans: &std::path::Path) -> PathBuf {
    let plans = plans.components().as_path();
    match plans.parent() {
        Some(parent) => parent.join("accrue.db"),
        None => PathBuf::from("accrue.db"),
    }
}

/// Tokens from the configuration file, else the environment, else one generated per role
/// and printed once to standard error.
fn tokens(config: &Config) -> anyhow::Result<Tokens> {
    let configured = config.tokens()?;
    if !configured.is_empty() {
        tracing::info!("tokens from the configuration file");
        return Ok(configured);
    }
    let from_env = config::env_tokens();
    if !from_env.is_empty() {
        tracing::info!("tokens from the environment");
        return Ok(from_env);
    }
    let (generated, clear) = Tokens::generate()?;
    let mut text =
        String::from("accrue serve: no tokens configured; one generated per role (shown once, never logged):\n");
    for (role, token) in clear {
        text.push_str(&format!("  export {}={token}\n", role.env_var()));
    }
    eprint!("{text}");
    Ok(generated)
}

#[cfg(unix)]
fn reload_on_hangup(state: AppState) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::error!("cannot listen for SIGHUP: reload with POST /v1/admin/reload");
            return;
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the plans");
            if let Err(err) = state.reload().await {
                tracing::error!(error = %err, "reload failed; the old plans keep serving");
            }
        }
    });
}

#[cfg(not(unix))]
fn reload_on_hangup(_state: AppState) {}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
