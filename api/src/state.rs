//! The state shared by every request: the pool, the token keys and the tally of SQL statements.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use actix_web::web;
use concerto_persistence::db::{StatementCount, statements_on_this_thread};
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
    /// SQL statements sent by request handlers since start-up.
    pub statements: SqlTally,
    /// Held shared by every piece of database work, and exclusively by the SQLite WAL checkpoint
    /// for the instant it needs no reader and no writer (see [`AppState::checkpoint_wal`]).
    gate: Arc<RwLock<()>>,
}

/// A running total of the SQL statements sent by the handlers: round trips are what a list
/// request costs, so the tests bound them and the benchmark reports them.
#[derive(Debug, Clone, Default)]
pub struct SqlTally {
    all: Arc<AtomicU64>,
    transaction: Arc<AtomicU64>,
}

impl SqlTally {
    /// The total so far.
    pub fn get(&self) -> StatementCount {
        StatementCount { all: self.all.load(Ordering::Relaxed), transaction: self.transaction.load(Ordering::Relaxed) }
    }

    fn add(&self, n: StatementCount) {
        self.all.fetch_add(n.all, Ordering::Relaxed);
        self.transaction.fetch_add(n.transaction, Ordering::Relaxed);
    }
}

impl AppState {
    /// The state over a pool, token keys and the login settings.
    pub fn new(pool: Pool, tokens: TokenKeys, auth: AuthSettings) -> Self {
        Self { pool, tokens, auth, statements: SqlTally::default(), gate: Arc::default() }
    }

    /// SQLite: checkpoints and truncates the WAL while no request uses the store. Under
    /// continuous load every read commits its audit event, so the store never has a moment
    /// without a reader or a writer and its own checkpoints never reset the WAL (it grew past a
    /// gigabyte in a minute); this waits for the requests in flight, holds new ones for the time
    /// of the checkpoint, and lets them go.
    pub fn checkpoint_wal(&self) -> Result<bool, concerto_persistence::Error> {
        let mut conn = self.pool.get()?;
        let _alone = self.gate.write().map_err(|_| concerto_persistence::Error::Unavailable("gate poisoned".to_owned()))?;
        concerto_persistence::db::checkpoint_wal(&mut conn)
    }

    /// Runs blocking database work on actix's blocking pool, never on a worker thread.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, concerto_persistence::Error> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let gate = self.gate.clone();
        let (result, sent) = web::block(move || {
            // A poisoned gate only means a checkpoint panicked: the store is still usable.
            let _shared = gate.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let before = statements_on_this_thread();
            let result = pool.get().map_err(concerto_persistence::Error::from).and_then(|mut conn| work(&mut conn));
            (result, statements_on_this_thread().since(before))
        })
        .await?;
        self.statements.add(sent);
        log::debug!("sql: {} statements besides {} of transaction control", sent.besides_transactions(), sent.transaction);
        result.map_err(ApiError::from)
    }
}
