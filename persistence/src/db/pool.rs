//! The pool: r2d2 over [`DbConnection`], each connection set up for its store and carrying
//! what the pool's connections share (on SQLite, the read trail and the writers' turn).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::Connection;
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection as _};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::connection::{DbConnection, SQLITE_PRAGMAS, Store, ping};
use super::migrations::migrate;
use super::statements;
use crate::Error;
use crate::read_trail::ReadTrail;

/// The connection pool shared by the request handlers.
pub type Pool = diesel::r2d2::Pool<Manager>;

/// A connection checked out of the [`Pool`]; dropping it gives it back.
pub type PooledConnection = diesel::r2d2::PooledConnection<Manager>;

/// The turn of a pool's SQLite writers: held from `BEGIN IMMEDIATE` to the commit
/// (`transaction::write_planned`). One per pool, so that two stores in one process (the tests,
/// a tool beside the server) never wait for each other's writers.
pub(crate) type WriterTurn = Arc<Mutex<()>>;

/// What a pool's connections share, handed to each by the [`Customizer`].
#[derive(Debug, Clone, Default)]
struct Shared {
    /// SQLite only: the one connection to the read trail.
    read_trail: Option<Arc<ReadTrail>>,
    /// SQLite only: the writers' turn.
    writers: Option<WriterTurn>,
}

/// The instrumentation of every pooled connection: counts its statements on the running
/// thread, and remembers when the server closed it, so that the pool drops it on return instead
/// of handing out a dead connection (pooled connections are not pinged before use). It also
/// carries what the pool's connections share ([`Shared`]).
#[derive(Debug, Default)]
struct Watch {
    closed: bool,
    shared: Shared,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery {
            error: Some(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _)),
            ..
        } = event
        {
            self.closed = true;
        }
        statements::count(&event);
    }
}

/// The shared part of a pooled connection; `None` on a connection opened outside a pool.
fn shared(conn: &mut DbConnection) -> Option<Shared> {
    conn.instrumentation().downcast_ref::<Watch>().map(|w| w.shared.clone())
}

/// The read trail of the pool `conn` comes from (SQLite only).
pub(crate) fn read_trail_of(conn: &mut DbConnection) -> Option<Arc<ReadTrail>> {
    shared(conn).and_then(|s| s.read_trail)
}

/// The writers' turn of the pool `conn` comes from (SQLite only).
pub(crate) fn writer_turn_of(conn: &mut DbConnection) -> Option<WriterTurn> {
    shared(conn).and_then(|s| s.writers)
}

/// diesel's connection manager, which also discards a connection the server closed.
#[derive(Debug)]
pub struct Manager(ConnectionManager<DbConnection>);

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        self.0.has_broken(conn) || conn.instrumentation().downcast_ref::<Watch>().is_some_and(|w| w.closed)
    }
}

/// Sets up each new connection of the pool; on SQLite, hands it what the pool's connections
/// share.
#[derive(Debug)]
struct Customizer {
    shared: Shared,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for Customizer {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        match conn {
            DbConnection::Sqlite(c) => c.batch_execute(SQLITE_PRAGMAS).map_err(diesel::r2d2::Error::QueryError)?,
            // PostgreSQL compiles any statement its planner costs above `jit_above_cost`: the
            // activity report over a region's year spent most of its time compiling, and the
            // short statements of every other request never gain from it. Nor do they gain from
            // parallel workers, which PostgreSQL starts for any plan it costs high enough: under
            // concurrency the workers take the cores the other requests need.
            DbConnection::Postgresql(c) => {
                c.batch_execute("SET jit = off; SET max_parallel_workers_per_gather = 0").map_err(diesel::r2d2::Error::QueryError)?
            }
        }
        conn.set_instrumentation(Watch { closed: false, shared: self.shared.clone() });
        Ok(())
    }
}

/// How long a request waits for a connection before it answers 503: short, so that an outage
/// is reported within a couple of seconds instead of piling up waiting requests.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Applies the embedded migrations on a plain connection (so a bad URL or an unreachable server
/// reports its real error), then opens the pool.
pub fn connect(store: &Store, max_size: u32) -> Result<Pool, Error> {
    connect_with_timeout(store, max_size, DEFAULT_CONNECTION_TIMEOUT)
}

/// [`connect`] with the longest wait for a free connection (`CONCERTO_DB_TIMEOUT_MS`).
pub fn connect_with_timeout(store: &Store, max_size: u32, timeout: Duration) -> Result<Pool, Error> {
    migrate(store)?;
    let shared = match store {
        Store::Sqlite(path) => Shared { read_trail: Some(ReadTrail::open(path)?), writers: Some(WriterTurn::default()) },
        Store::Postgres(_) => Shared::default(),
    };
    diesel::r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(timeout)
        // No `SELECT 1` before handing out a connection: it doubled the round trips of a request.
        // A connection the driver saw break is still discarded, the next query on a dead one
        // fails with 503 once, and `/readyz` asks the store itself.
        .test_on_check_out(false)
        .connection_customizer(Box::new(Customizer { shared }))
        .build(Manager(ConnectionManager::new(store.url())))
        .map_err(|e| Error::Unavailable(e.to_string()))
}

/// `/readyz`: asks the store through the pool. Connections are not pinged when handed out, so
/// after an outage the idle ones may be dead: each failed ping discards its connection, and the
/// check goes on (at most once per connection the pool may hold) until one answers or a new
/// connection cannot be made.
pub fn ready(pool: &Pool) -> Result<(), Error> {
    let mut last = Error::Unavailable("no connection".to_owned());
    for _ in 0..=pool.max_size() {
        match pool.get().map_err(Error::from).and_then(|mut conn| ping(&mut conn)) {
            Ok(()) => return Ok(()),
            Err(e @ Error::Unavailable(_)) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}
