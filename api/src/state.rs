//! The state shared by every request: the pool and the token keys.

use actix_web::web;
use concerto_persistence::{DbConnection, Pool};

use crate::auth::TokenKeys;
use crate::config::AuthSettings;
use crate::error::ApiError;

/// Application state, built once at start-up.
#[derive(Clone)]
pub struct AppState {
    /// Database connections.
    pub pool: Pool,
    /// Signing and verification of access tokens.
    pub tokens: TokenKeys,
    /// Login throttling limits and how the client address is read.
    pub auth: AuthSettings,
}

impl AppState {
    /// Runs blocking database work on actix's blocking pool, never on a worker thread.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, concerto_persistence::Error> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
        .map_err(ApiError::from)
    }
}
