//! The state shared by every request: the pool, the token keys, the tallies of SQL statements
//! and of pool checkouts, and the connection an authenticated request holds.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use concerto_domain::principal::Principal;
use concerto_domain::terminology::CurrentList;
use concerto_persistence::accounts::{self, LoadedCaller};
use concerto_persistence::db::{PooledConnection, StatementCount, statements_on_this_thread};
use concerto_persistence::login_sessions;
use concerto_persistence::{DbConnection, Pool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::{Clock, TokenKeys, invalid_token};
use crate::caller::{Caller, HeldConnection, carries_body};
use crate::config::{AuthSettings, SessionSettings};
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
    /// Connections checked out of the pool by request work since start-up.
    pub checkouts: Tally,
    /// Pieces of request work run on actix's blocking pool since start-up: each is a hop from
    /// a worker thread and back.
    pub blocking_calls: Tally,
    /// The platform's time zone: a delegation's `YYYY-MM-DD` is a day there.
    pub time_zone: chrono_tz::Tz,
    /// The code lists held in memory for the pickers' search.
    pub code_indexes: Arc<concerto_persistence::terminology::CodeIndexes>,
    /// Login sessions' lifetimes and the refresh cookie.
    pub sessions: SessionSettings,
    /// The clock of sessions and tokens (moved on by tests).
    pub clock: Clock,
    /// Pro Santé Connect login, when configured (`CONCERTO_OIDC_DISCOVERY_URL`).
    pub oidc: Option<Arc<crate::oidc::Provider>>,
    /// Held shared by every piece of database work, and exclusively by the SQLite WAL checkpoint
    /// for the instant it needs no reader and no writer (see [`AppState::checkpoint_wal`]).
    gate: Arc<RwLock<()>>,
    /// Turns at the pool, one per connection, handed out in arrival order (see
    /// [`AppState::take_turn`]).
    turns: Arc<Semaphore>,
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

/// A running count (pool checkouts, blocking calls): an authenticated request takes one
/// connection and does all its work on it, a list in one blocking call, so the tests count
/// these per request as they count statements.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<AtomicU64>);

impl Tally {
    /// The total so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn checkout(&self, pool: &Pool) -> Result<PooledConnection, concerto_persistence::Error> {
        self.add_one();
        Ok(pool.get()?)
    }
}

impl AppState {
    /// The state over a pool, token keys and the login settings.
    pub fn new(pool: Pool, tokens: TokenKeys, auth: AuthSettings) -> Self {
        let turns = Arc::new(Semaphore::new(usize::try_from(pool.max_size()).unwrap_or(1)));
        Self {
            pool,
            tokens,
            auth,
            statements: SqlTally::default(),
            checkouts: Tally::default(),
            blocking_calls: Tally::default(),
            time_zone: crate::config::DEFAULT_TIME_ZONE,
            code_indexes: Arc::default(),
            sessions: SessionSettings::default(),
            clock: Clock::default(),
            oidc: None,
            gate: Arc::default(),
            turns,
        }
    }

    /// The state with another time zone than [`crate::config::DEFAULT_TIME_ZONE`].
    pub fn with_time_zone(self, time_zone: chrono_tz::Tz) -> Self {
        Self { time_zone, ..self }
    }

    /// The state with Pro Santé Connect login on (`Some`) or off.
    pub fn with_oidc(self, oidc: Option<crate::oidc::OidcSettings>) -> Self {
        Self { oidc: oidc.map(|s| Arc::new(crate::oidc::Provider::new(s))), ..self }
    }

    /// The state with other session settings than the defaults.
    pub fn with_sessions(self, sessions: SessionSettings) -> Self {
        Self { sessions, ..self }
    }

    /// Waits, in arrival order, for a turn at the pool, as long as the pool's own timeout. r2d2
    /// gives a returned connection to whichever thread asks first, not to the one waiting
    /// longest, so with more clients than connections a request could lose to newcomers again
    /// and again. With as many turns as connections, a request with a turn finds a connection
    /// free, save one the WAL checkpoint or `/readyz` (which take no turn) holds for a moment.
    async fn take_turn(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.pool.connection_timeout(), self.turns.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Ok(turn),
            Ok(Err(_closed)) => Err(ApiError::Unavailable("the pool's queue is closed".to_owned())),
            Err(_elapsed) => Err(ApiError::Unavailable("timed out waiting for a database connection".to_owned())),
        }
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

    /// Runs blocking database work on actix's blocking pool, never on a worker thread, on a
    /// connection checked out for this work alone: for requests without a caller.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, concerto_persistence::Error> + Send + 'static,
        T: Send + 'static,
    {
        self.db_with(None, work).await
    }

    /// [`AppState::db`] on the request's held connection, checked out on first use.
    pub async fn db_on<T, F>(&self, held: &HeldConnection, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, concerto_persistence::Error> + Send + 'static,
        T: Send + 'static,
    {
        self.db_with(Some(held), work).await
    }

    /// [`AppState::db_on`] for an authenticated caller: the caller's rights first, when this
    /// request has not read them yet (unknown or disabled account, revoked token: 401), then
    /// `work` with them, in one blocking call.
    ///
    /// A write that names a foreign ETag in `If-Match` (`Caller::foreign_if_match`) answers 412
    /// here, after its rights and before its work: nothing is written.
    pub async fn db_as<T, F>(&self, caller: &Caller, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection, &Principal) -> Result<T, concerto_persistence::Error> + Send + 'static,
        T: Send + 'static,
    {
        self.db_as_judged(caller, caller.foreign_if_match, false, move |c, loaded| work(c, &loaded.principal)).await
    }

    /// [`AppState::db_as`] whose work also reads every code system's list as it stands,
    /// fetched in the rights' own statement (`accounts::load_caller_with_lists`): a picker's
    /// search then costs the one statement of `/me`.
    pub async fn db_as_with_lists<T, F>(&self, caller: &Caller, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection, &Principal, Option<&[CurrentList]>) -> Result<T, concerto_persistence::Error> + Send + 'static,
        T: Send + 'static,
    {
        self.db_as_judged(caller, caller.foreign_if_match, true, move |c, loaded| work(c, &loaded.principal, loaded.code_lists.as_deref()))
            .await
    }

    /// [`AppState::db_as`], answering 412 before `work` when `refuse_precondition`.
    async fn db_as_judged<T, F>(&self, caller: &Caller, refuse_precondition: bool, with_lists: bool, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection, &LoadedCaller) -> Result<T, concerto_persistence::Error> + Send + 'static,
        T: Send + 'static,
    {
        let (subject, rights) = (caller.subject.clone(), caller.rights.clone());
        let now = self.clock.now();
        let check = accounts::TokenCheck {
            generation: subject.generation,
            session_id: subject.session_id.clone(),
            now,
            idle_since: now - chrono::TimeDelta::seconds(self.sessions.idle_seconds),
        };
        let background = caller.background;
        let done = self
            .db_on(&caller.connection, move |c| {
                let loaded = match rights.get() {
                    Some(loaded) => loaded,
                    None => match if with_lists {
                        accounts::load_caller_with_lists(c, &subject.account_id, Some(&check))?
                    } else {
                        accounts::load_caller(c, &subject.account_id, Some(&check))?
                    } {
                        Some(loaded) => {
                            // A user request keeps the session alive, written at most once a
                            // minute; a background call (`X-Concerto-Background: 1`) does not.
                            let stale = loaded.last_activity_at.is_some_and(|t| t < now - chrono::TimeDelta::minutes(1));
                            if stale && !background {
                                login_sessions::touch(c, &subject.session_id, now)?;
                            }
                            rights.get_or_init(|| Arc::new(loaded))
                        }
                        None => return Ok(None),
                    },
                };
                if refuse_precondition {
                    return Err(concerto_persistence::Error::Stale { current: 0 });
                }
                work(c, loaded).map(Some)
            })
            .await?;
        done.ok_or_else(invalid_token)
    }

    /// The caller's rights, relations and names, read as [`AppState::db_as`] reads them: for a
    /// handler that decides before any other database work (`/me`, a check before hashing).
    /// Rights this request already read (the extractor's, for a request with a body) cost no
    /// blocking call and no checkout.
    pub async fn rights_of(&self, caller: &Caller) -> Result<Arc<LoadedCaller>, ApiError> {
        if let Some(loaded) = caller.rights.get() {
            return Ok(loaded.clone());
        }
        // Only the rights: the extractor reads them before the body is judged.
        self.db_as_judged(caller, false, false, |_, _| Ok(())).await?;
        caller.rights.get().cloned().ok_or_else(invalid_token)
    }

    /// [`AppState::db_on`] when there is a held connection, else [`AppState::db`]: for code
    /// shared by requests with and without a caller (login throttling).
    pub async fn db_with<T, F>(&self, held: Option<&HeldConnection>, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, concerto_persistence::Error> + Send + 'static,
        T: Send + 'static,
    {
        let turn = match held {
            Some(held) if held.has_turn() => None,
            _ => Some(self.take_turn().await?),
        };
        let (pool, gate, checkouts) = (self.pool.clone(), self.gate.clone(), self.checkouts.clone());
        let held = held.cloned();
        self.blocking_calls.add_one();
        let (result, sent) = web::block(move || {
            let before = statements_on_this_thread();
            // The connection first, the gate second: a piece never waits for the pool while it
            // holds the gate. Otherwise a checkpoint waiting for the gate (with a connection of
            // its own), a piece holding the gate and waiting for a connection, and requests
            // holding the other connections and waiting for the gate behind the checkpoint
            // wait for each other until the pool's timeout answers 503.
            let result = match held {
                None => checkouts.checkout(&pool).and_then(|mut conn| {
                    // A poisoned gate only means a checkpoint panicked: the store is still usable.
                    let _shared = gate.read().unwrap_or_else(PoisonError::into_inner);
                    let result = work(&mut conn);
                    // The connection goes back first, so the next turn finds it free.
                    drop(conn);
                    drop(turn);
                    result
                }),
                Some(held) => {
                    // Locked for the whole piece: two pieces of one request never share the
                    // connection at once. A piece that panicked had taken the connection out, and its unwinding gave
                    // it back to the pool to judge: a poisoned slot is an empty one.
                    let mut slot = held.0.lock().unwrap_or_else(PoisonError::into_inner);
                    if turn.is_some() {
                        slot.turn = turn;
                    }
                    let conn = match slot.conn.take() {
                        Some(conn) => Ok(conn),
                        None => checkouts.checkout(&pool),
                    };
                    conn.and_then(|mut conn| {
                        let shared = gate.read().unwrap_or_else(PoisonError::into_inner);
                        let result = work(&mut conn);
                        drop(shared);
                        // After a failure of the store the connection goes back to the pool,
                        // which discards it if it broke; a later piece checks out another.
                        if !matches!(result, Err(concerto_persistence::Error::Unavailable(_) | concerto_persistence::Error::Database(_))) {
                            slot.conn = Some(conn);
                        }
                        result
                    })
                }
            };
            (result, statements_on_this_thread().since(before))
        })
        .await?;
        self.statements.add(sent);
        log::debug!("sql: {} statements besides {} of transaction control", sent.besides_transactions(), sent.transaction);
        result.map_err(ApiError::from)
    }
}

/// The `Caller` extractor: checks the token with the state's keys and, for a request with a
/// body, reads the rights before the body is judged.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    /// Checks the token. A request without a body reads nothing more here: its rights come with
    /// the handler's first piece of work. A request with one is authenticated before its body
    /// is judged (a disabled account gets 401, not a validation error), then gives the
    /// connection back: actix reads the body beside this extractor, and a client sending it
    /// slowly would keep the connection meanwhile (a handful of them would exhaust the pool).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| t.trim().to_owned());
        let has_body = carries_body(req);
        let background = crate::caller::is_background(req);
        let foreign_if_match = crate::precondition::names_a_foreign_etag(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("application state missing".to_owned()))?;
            let subject = state.tokens.verify(&token.ok_or_else(invalid_token)?, state.clock.now())?;
            let caller = Caller { subject, rights: Arc::default(), connection: HeldConnection::default(), foreign_if_match, background };
            if has_body {
                state.rights_of(&caller).await?;
                caller.connection.release();
            }
            Ok(caller)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use concerto_persistence::db::{self, Store};

    use super::*;

    /// The server's state on a fresh SQLite store with a pool of one connection, waiting at most
    /// `timeout` for it.
    fn one_connection(timeout: Duration) -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Sqlite(dir.path().join("state.db").to_string_lossy().into_owned());
        let pool = db::connect_with_timeout(&store, 1, timeout).unwrap();
        (dir, AppState::new(pool, TokenKeys::new(&[7; 32], 60), AuthSettings::default()))
    }

    /// The WAL checkpoint and requests on a pool of one connection: each request works in two
    /// pieces on a held connection, as the server's do. When a piece took the gate before its
    /// connection, the checkpoint (holding the connection, waiting for the gate) and the piece
    /// (holding the gate, waiting for the connection) waited for each other until the pool's
    /// timeout.
    #[actix_rt::test]
    async fn the_wal_checkpoint_and_requests_never_wait_for_each_other() {
        let (_dir, state) = one_connection(Duration::from_secs(2));
        let stop = Arc::new(AtomicBool::new(false));
        let checkpoints = std::thread::spawn({
            let (state, stop) = (state.clone(), stop.clone());
            move || {
                let mut done = 0;
                while !stop.load(Ordering::Relaxed) {
                    state.checkpoint_wal().unwrap();
                    done += 1;
                }
                done
            }
        });
        let requests: Vec<_> = (0..8)
            .map(|_| {
                let state = state.clone();
                actix_rt::spawn(async move {
                    for _ in 0..40 {
                        let held = HeldConnection::default();
                        state.db_on(&held, db::ping).await?;
                        state.db_on(&held, db::ping).await?;
                    }
                    Ok::<_, ApiError>(())
                })
            })
            .collect();
        for request in requests {
            request.await.unwrap().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        assert!(checkpoints.join().unwrap() > 0);
    }

    /// Requests wait for the pool in arrival order. r2d2 alone serves whichever blocked thread
    /// asks first: with forty requests on one connection, they ran in a shuffled order, and
    /// under steady load some waited many times longer than the rest.
    #[actix_rt::test]
    async fn requests_get_the_pool_in_the_order_they_asked() {
        let (_dir, state) = one_connection(Duration::from_secs(10));
        let (tickets, served) = (Arc::new(AtomicU64::new(0)), Arc::new(Mutex::new(Vec::new())));
        let requests: Vec<_> = (0..40)
            .map(|_| {
                let (state, tickets, served) = (state.clone(), tickets.clone(), served.clone());
                actix_rt::spawn(async move {
                    // The ticket and the place in the queue are taken in the same poll.
                    let ticket = tickets.fetch_add(1, Ordering::SeqCst);
                    let held = HeldConnection::default();
                    state
                        .db_on(&held, move |conn| {
                            served.lock().unwrap().push(ticket);
                            std::thread::sleep(Duration::from_millis(1));
                            db::ping(conn)
                        })
                        .await
                })
            })
            .collect();
        for request in requests {
            request.await.unwrap().unwrap();
        }
        let served = served.lock().unwrap().clone();
        assert_eq!(served, (0..40).collect::<Vec<_>>());
    }
}
