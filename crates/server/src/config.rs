//! The server's configuration file (JSON) and the limits every request runs under.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::auth::{Role, Tokens};

/// Limits of the server (SPEC §9 defaults).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body (413 beyond).
    pub body_bytes: usize,
    /// Every engine evaluation's deadline (503 `deadline_exceeded` beyond).
    pub deadline: Duration,
    /// Simulations evaluated at once; more wait their turn within their deadline.
    pub simulations: usize,
    /// Monte Carlo and alignment runs at once; more get 429.
    pub analyses: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { body_bytes: 10 << 20, deadline: Duration::from_secs(30), simulations: 8, analyses: 2 }
    }
}

/// `--config FILE`:
/// `{"tokens":[{"role":"finance","sha256":"<hex of SHA-256 of the token>"}],
///   "deadline_ms":30000,"body_limit_bytes":10485760,"max_concurrent_simulations":8,
///   "max_concurrent_analyses":2}` — every key optional. Tokens are never written in clear.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
    pub deadline_ms: Option<u64>,
    pub body_limit_bytes: Option<usize>,
    pub max_concurrent_simulations: Option<usize>,
    pub max_concurrent_analyses: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub role: Role,
    /// Lowercase hex of the token's SHA-256.
    pub sha256: String,
}

impl Config {
    pub fn read(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a valid configuration", path.display()))
    }

    pub fn limits(&self) -> anyhow::Result<Limits> {
        let mut limits = Limits::default();
        if let Some(ms) = self.deadline_ms {
            if ms == 0 {
                bail!("deadline_ms must be above 0");
            }
            limits.deadline = Duration::from_millis(ms);
        }
        if let Some(bytes) = self.body_limit_bytes {
            limits.body_bytes = bytes;
        }
        if let Some(n) = self.max_concurrent_simulations {
            limits.simulations = n.max(1);
        }
        if let Some(n) = self.max_concurrent_analyses {
            limits.analyses = n.max(1);
        }
        Ok(limits)
    }

    /// The configured token hashes.
    pub fn tokens(&self) -> anyhow::Result<Tokens> {
        let mut tokens = Tokens::default();
        for entry in &self.tokens {
            tokens.add_hash(entry.role, parse_hash(&entry.sha256).with_context(|| format!("token of {}", entry.role))?);
        }
        Ok(tokens)
    }
}

fn parse_hash(hex: &str) -> anyhow::Result<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("sha256 must be 64 hex digits (the SHA-256 of the token, e.g. `printf %s TOKEN | sha256sum`)");
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(out)
}

/// Tokens from the environment (`ACCRUE_TOKEN_FINANCE`, `ACCRUE_TOKEN_HR`, `ACCRUE_TOKEN_EXEC`),
/// hashed at once.
pub fn env_tokens() -> Tokens {
    let mut tokens = Tokens::default();
    for role in Role::ALL {
        if let Ok(token) = std::env::var(role.env_var()) {
            if !token.trim().is_empty() {
                tokens.add_token(role, token.trim());
            }
        }
    }
    tokens
}
