//! The server's shared state: tokens, the served plans (swapped whole on reload), the
//! database, limits, and the pools that bound expensive work.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use accrue_engine::ScriptLimits;
use tokio::sync::Semaphore;

use crate::auth::Tokens;
use crate::catalog::Catalog;
use crate::config::Limits;
use crate::store::{AuditWriter, Store};
use crate::wire::ReloadReport;

/// Everything a handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tokens: Tokens,
    plans_root: PathBuf,
    catalog: RwLock<Arc<Catalog>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    store: Store,
    audit: AuditWriter,
    limits: Limits,
    script_limits: ScriptLimits,
    simulations: Arc<Semaphore>,
    analyses: Arc<Semaphore>,
}

impl AppState {
    /// The server's state; fails when the audit writer's thread cannot be started.
    pub fn new(
        tokens: Tokens,
        plans_root: PathBuf,
        catalog: Catalog,
        store: Store,
        limits: Limits,
    ) -> anyhow::Result<AppState> {
        Ok(AppState {
            inner: Arc::new(Inner {
                tokens,
                plans_root,
                catalog: RwLock::new(Arc::new(catalog)),
                reloading: tokio::sync::Mutex::new(()),
                audit: AuditWriter::start(store.clone())?,
                store,
                simulations: Arc::new(Semaphore::new(limits.simulations)),
                analyses: Arc::new(Semaphore::new(limits.analyses)),
                limits,
                script_limits: ScriptLimits::default(),
            }),
        })
    }

    pub fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    /// The served plans as of now (a reload swaps in a new set; this one stays valid).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner.catalog.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn audit(&self) -> &AuditWriter {
        &self.inner.audit
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn script_limits(&self) -> ScriptLimits {
        self.inner.script_limits
    }

    pub fn simulations(&self) -> Arc<Semaphore> {
        self.inner.simulations.clone()
    }

    pub fn analyses(&self) -> Arc<Semaphore> {
        self.inner.analyses.clone()
    }

    /// Loads the plans again from disk, off the async runtime, and swaps them in at once; a
    /// plan whose new version fails keeps serving its old one.
    pub async fn reload(&self) -> anyhow::Result<ReloadReport> {
        let _one_at_a_time = self.inner.reloading.lock().await;
        let state = self.clone();
        let (catalog, report) = tokio::task::spawn_blocking(move || {
            let old = state.catalog();
            Catalog::reload(&state.inner.plans_root, state.inner.script_limits, &old)
        })
        .await?;
        *self.inner.catalog.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(catalog);
        tracing::info!(
            loaded = report.loaded.len(),
            kept = report.kept.len(),
            failed = report.failed.len(),
            "plans reloaded"
        );
        Ok(report)
    }
}
