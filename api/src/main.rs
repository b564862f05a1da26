//! The `concerto` binary: `serve` (default), `create-admin`, `demo`, `check`, `generate`, `openapi`,
//! `terminology load`.

use std::io::BufRead;
use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use concerto_api::auth::{TokenKeys, hash_password};
use concerto_api::config::Settings;
use concerto_api::state::AppState;
use concerto_api::{ServeOptions, demo, openapi};
use concerto_persistence::{accounts, check, db, terminology};

#[derive(Parser)]
#[command(name = "concerto", version, about = "Concerto: backend of a regional cancer tumor-board platform")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve the API (the default).
    Serve,
    /// Create a platform administrator; the password is read from standard input.
    CreateAdmin {
        /// Login name of the administrator.
        #[arg(long)]
        username: String,
    },
    /// Load the demo world into an empty database and print its accounts.
    Demo,
    /// Print the OpenAPI document as YAML.
    Openapi,
    /// Recompute every derived record (reports to send, delegation history, copies, search
    /// keys) from the source tables and print each difference; exit 1 on any.
    Check,
    /// Fill an empty database with a generated region (benchmarks): 15 centers, 150 RCPs,
    /// 2,000 physicians, 400 secretaries, weekly sessions, about `dossiers` dossiers (a build
    /// with the `region` feature).
    Generate {
        /// How many dossiers.
        #[arg(long, default_value_t = 10_000)]
        dossiers: usize,
        /// Seed of the generator: the same seed gives the same region.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write the known accounts (JSON).
        #[arg(long)]
        accounts_out: Option<std::path::PathBuf>,
    },
    /// Code lists: CIM-10, CIM-O-3, the FRCP's treatment types, organs and RCP natures.
    Terminology {
        #[command(subcommand)]
        command: TerminologyCommand,
    },
}

#[derive(Subcommand)]
enum TerminologyCommand {
    /// Load code lists from CSV files (system,code,label,valid_from[,valid_until]), all in one
    /// transaction: each system's rows are its new version; codes it drops stay, valid through
    /// yesterday. Loading the same version again changes nothing.
    Load {
        /// The CSV files (UTF-8, with a header row).
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// The version's name (by default the files' names).
        #[arg(long = "list-version")]
        list_version: Option<String>,
    },
}

/// Bounds what glibc keeps. Each thread that allocates under contention gets an arena of its own,
/// up to eight per core, and keeps what each arena once held: with SQLite's page caches
/// allocated on actix's blocking threads, the server kept what every blocking thread once held;
/// two arenas bound it. And glibc raises its mmap threshold to the size of a freed mapping, so
/// after the first login argon2's 19 MiB blocks came from the heap and stayed there after a
/// burst of logins; the threshold is pinned at 4 MiB, at some cost to login throughput (both
/// measured in bench/RESULTS.md). `MALLOC_ARENA_MAX` and
/// `MALLOC_MMAP_THRESHOLD_`, when set, still decide.
fn bound_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; called first thing in main, before any
        // other thread exists.
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
            }
        }
    }
}

fn main() -> ExitCode {
    bound_malloc();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(Cli::parse().command.unwrap_or(Command::Serve)) {
        Ok(code) => code,
        Err(message) => {
            // One line, whatever the driver said (libpq's messages span several).
            let message: Vec<&str> = message.split_whitespace().collect();
            eprintln!("concerto: {}", message.join(" "));
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    if let Command::Openapi = command {
        print!("{}", openapi::yaml()?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Check = command {
        return check();
    }
    if let Command::Terminology { command: TerminologyCommand::Load { files, list_version } } = command {
        return load_terminology(&files, list_version.as_deref());
    }
    #[cfg(not(feature = "region"))]
    if let Command::Generate { .. } = command {
        return Err(
            "this build has no region generator: build with `cargo build --release --features region` (as `make bench` does)".to_owned()
        );
    }
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let pool = db::connect_with_timeout(&settings.store, settings.db_pool_size, settings.db_timeout).map_err(|e| e.to_string())?;
    build_activity_counters(&pool)?;
    match command {
        Command::Serve => serve(settings, pool),
        Command::CreateAdmin { username } => {
            let password = read_password()?;
            let hash = hash_password(&password).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let account = accounts::create_platform_admin(&mut conn, &username, &hash).map_err(|e| e.to_string())?;
            println!("created platform administrator {} (account {})", account.username, account.id);
            Ok(())
        }
        Command::Demo => {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let world = demo::load(&mut conn).map_err(|e| e.to_string())?;
            print!("{world}");
            Ok(())
        }
        #[cfg(feature = "region")]
        Command::Generate { dossiers, seed, accounts_out } => generate(&pool, dossiers, seed, accounts_out),
        // Answered above, before connecting.
        #[cfg(not(feature = "region"))]
        Command::Generate { .. } => Ok(()),
        Command::Openapi | Command::Check | Command::Terminology { .. } => Ok(()),
    }
    .map(|()| ExitCode::SUCCESS)
}

/// Fills the activity counters from the sessions and dossiers of a store that held them before
/// the counters existed (once, after the migration that added them), before serving.
fn build_activity_counters(pool: &db::Pool) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let start = std::time::Instant::now();
    if concerto_persistence::activity_counters::rebuild_if_pending(&mut conn).map_err(|e| e.to_string())? {
        eprintln!("activity counters built from the stored sessions in {:.1} s", start.elapsed().as_secs_f64());
    }
    Ok(())
}

/// `concerto check`: one line per difference on standard output, a summary on standard error;
/// exit 1 when anything differs.
/// It reads only `DATABASE_URL` (an operator checking a store needs no JWT secret), and
/// migrates the store as `serve` would.
fn check() -> Result<ExitCode, String> {
    let store = concerto_persistence::Store::from_url(&std::env::var("DATABASE_URL").unwrap_or_else(|_| "concerto.db".to_owned()));
    let pool = db::connect_with_timeout(&store, 1, std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
    build_activity_counters(&pool)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let differences = check::run(&mut conn).map_err(|e| e.to_string())?;
    for d in &differences {
        println!("{d}");
    }
    if differences.is_empty() {
        eprintln!("check: every derived record matches its sources");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("check: {} difference(s)", differences.len());
        Ok(ExitCode::FAILURE)
    }
}

/// `concerto terminology load FILE…`: reads only `DATABASE_URL` and `CONCERTO_TIME_ZONE` (today,
/// the first day without the codes a new version drops), like `check`; migrates the store as
/// `serve` would. Prints and logs one line per list loaded.
fn load_terminology(files: &[std::path::PathBuf], version: Option<&str>) -> Result<ExitCode, String> {
    let store = concerto_persistence::Store::from_url(&std::env::var("DATABASE_URL").unwrap_or_else(|_| "concerto.db".to_owned()));
    let time_zone = match std::env::var("CONCERTO_TIME_ZONE") {
        Ok(name) => name.parse::<chrono_tz::Tz>().map_err(|_| format!("CONCERTO_TIME_ZONE={name:?} is not an IANA time zone"))?,
        Err(_) => concerto_api::config::DEFAULT_TIME_ZONE,
    };
    let mut texts = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        texts.push((path.display().to_string(), text));
    }
    let pool = db::connect_with_timeout(&store, 1, std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let known: Vec<String> = terminology::systems(&mut conn).map_err(|e| e.to_string())?.into_iter().map(|s| s.name).collect();
    let lists = concerto_api::terminology::read(&texts, &known, version)?;
    let at = concerto_persistence::now();
    let today = chrono::Utc::now().with_timezone(&time_zone).date_naive();
    for done in terminology::load(&mut conn, &lists, at, today).map_err(|e| e.to_string())? {
        let line = if done.already_loaded {
            format!("terminology: {} version {} is loaded already ({} codes); nothing changed", done.system, done.version, done.codes)
        } else {
            let last_day = today.pred_opt().unwrap_or(today);
            let kept = if done.retired > 0 { format!(" (kept, valid through {last_day})") } else { String::new() };
            format!(
                "terminology: loaded {} version {}: {} codes, {} added, {} changed, {} retired{kept}",
                done.system, done.version, done.codes, done.added, done.changed, done.retired
            )
        };
        log::info!("{line}");
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The password of every generated account.
#[cfg(feature = "region")]
const GENERATED_PASSWORD: &str = "concerto-bench-2026";

#[cfg(feature = "region")]
fn generate(pool: &concerto_persistence::Pool, dossiers: usize, seed: u64, accounts_out: Option<std::path::PathBuf>) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    if !db::is_empty(&mut conn).map_err(|e| e.to_string())? {
        return Err("generate fills an empty database only".to_owned());
    }
    // Hashed once: argon2 takes tens of milliseconds, the region holds 2,400 accounts.
    let hash = hash_password(GENERATED_PASSWORD).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let mut shown = 0;
    let mut progress = |done: usize, total: usize| {
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        if percent != shown || done == total {
            shown = percent;
            eprint!("\rgenerating: {done}/{total} dossiers ({percent}%)");
        }
    };
    let marks = concerto_persistence::region::generate(&mut conn, dossiers, seed, &hash, &mut progress).map_err(|e| e.to_string())?;
    let admin = accounts::create_platform_admin(&mut conn, "admin", &hash).map_err(|e| e.to_string())?;
    eprintln!("\rgenerated {} dossiers in {} sessions in {:.1} s", marks.dossiers, marks.sessions, started.elapsed().as_secs_f64());
    let known = serde_json::json!({
        "password": GENERATED_PASSWORD,
        "dossiers": marks.dossiers,
        "sessions": marks.sessions,
        "seed": seed,
        "accounts": [
            {"username": "admin", "role": "platform_admin", "account_id": admin.id},
            {"username": marks.secretary, "role": "secretary of 5 physicians (participants)"},
            {"username": marks.animateur, "role": "animateur", "rcp_id": marks.rcp},
            {"username": marks.busy_physician, "role": "physician (busy requester)", "professional_id": marks.busy_physician_id},
            {"username": concerto_persistence::region::HEAVY_SECRETARY, "role": "heavy secretary: 5 physicians, one an animateur"},
            {"username": marks.heavy_animateur, "role": "animateur of the heavy secretary's board", "rcp_id": marks.heavy_rcp},
        ],
        "heavy": {
            "secretary": concerto_persistence::region::HEAVY_SECRETARY,
            "animateur": marks.heavy_animateur,
            "rcp_id": marks.heavy_rcp,
            "current_session_id": marks.heavy_session,
            "row_cost_sessions": marks.row_cost_sessions.iter().zip(concerto_persistence::region::ROW_COST_RUNS)
                .map(|(id, n)| serde_json::json!({"id": id, "dossiers": n})).collect::<Vec<_>>(),
        },
        "rcp_id": marks.rcp,
        "current_session_id": marks.current_session,
        "planned_session_id": marks.planned_session,
        "dossier_id": marks.dossier,
        "requester_id": marks.busy_physician_id,
    });
    let text = serde_json::to_string_pretty(&known).map_err(|e| e.to_string())?;
    match accounts_out {
        Some(path) => std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}

fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < 12 {
        return Err("the password (read from stdin) must hold at least 12 characters".to_owned());
    }
    Ok(password)
}

/// Every 5 seconds, a checkpoint that truncates SQLite's WAL (see `AppState::checkpoint_wal`).
fn spawn_wal_checkpoints(state: AppState) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            let start = std::time::Instant::now();
            match state.checkpoint_wal() {
                Ok(true) => log::debug!("WAL checkpointed and truncated in {:?}", start.elapsed()),
                Ok(false) => log::debug!("WAL checkpoint postponed: readers busy ({:?})", start.elapsed()),
                Err(e) => log::warn!("WAL checkpoint failed: {e}"),
            }
        }
    });
}

/// Builds the pickers' code lists in memory beside the first requests, instead of in the first
/// search of each list (about 0.2 s for 60,000 codes). A failure only logs: the searches build
/// what they need themselves.
fn spawn_code_list_warm_up(state: &AppState) {
    let (pool, indexes) = (state.pool.clone(), std::sync::Arc::clone(&state.code_indexes));
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let held = pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| concerto_persistence::terminology::warm_up(&mut c, &indexes).map_err(|e| e.to_string()));
        match held {
            Ok(codes) => log::info!("code lists held in memory: {codes} codes in {:?}", start.elapsed()),
            Err(e) => log::warn!("code lists not held in memory at start-up: {e}"),
        }
    });
}

fn serve(settings: Settings, pool: concerto_persistence::Pool) -> Result<(), String> {
    let listener = TcpListener::bind(settings.bind).map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    let state = AppState::new(pool, TokenKeys::new(&settings.jwt_secret, settings.token_ttl_seconds), settings.auth.clone())
        .with_time_zone(settings.time_zone)
        .with_sessions(settings.sessions)
        .with_oidc(concerto_api::oidc::OidcSettings::from_env());
    if matches!(settings.store, concerto_persistence::Store::Sqlite(_)) {
        spawn_wal_checkpoints(state.clone());
    }
    spawn_code_list_warm_up(&state);
    log::info!("serving on http://{} (docs at /docs/)", settings.bind);
    let options = ServeOptions {
        workers: std::thread::available_parallelism().map_or(2, usize::from),
        cors_origins: settings.cors_origins.clone(),
        shutdown_timeout_seconds: settings.shutdown_timeout_seconds,
    };
    actix_web::rt::System::new().block_on(async move {
        concerto_api::serve(state, listener, options).map_err(|e| e.to_string())?.await.map_err(|e| e.to_string())?;
        log::info!("stopped: every in-flight request was answered");
        Ok(())
    })
}
