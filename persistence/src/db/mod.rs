//! The store: the connection to whichever store `DATABASE_URL` names, statement counting, the
//! migrations, the r2d2 pool, checkpoints and transactions, each in a module of its own; their
//! items are re-exported here, where the repositories and the api name them (`db::write`).

pub(crate) mod checkpoint;
pub(crate) mod connection;
pub(crate) mod migrations;
pub(crate) mod pool;
pub(crate) mod statements;
pub(crate) mod transaction;

#[cfg(feature = "test-support")]
pub(crate) mod admin;

#[cfg(feature = "test-support")]
pub use admin::{create_postgres_database, drop_postgres_database, set_postgres_database_open};
pub use checkpoint::checkpoint_wal;
pub use connection::{Backend, DbConnection, Store, is_empty, is_sqlite, ping};
pub use migrations::migrate;
pub use pool::{DEFAULT_CONNECTION_TIMEOUT, Manager, Pool, PooledConnection, connect, connect_with_timeout, ready};
pub use statements::{StatementCount, statements_on_this_thread};
pub use transaction::{Plans, on_read_trail, read, read_in_autocommit, write, write_planned};

pub use crate::read_trail::{ReadTrail, read_trail_path};
