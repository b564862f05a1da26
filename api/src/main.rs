//! The `concerto` binary: `serve` (default), `create-admin`, `demo`, `openapi`.

use std::io::BufRead;
use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use concerto_api::auth::{TokenKeys, hash_password};
use concerto_api::config::Settings;
use concerto_api::state::AppState;
use concerto_api::{demo, openapi, server};
use concerto_persistence::{accounts, db};

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
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(Cli::parse().command.unwrap_or(Command::Serve)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One line, whatever the driver said (libpq's messages span several).
            let message: Vec<&str> = message.split_whitespace().collect();
            eprintln!("concerto: {}", message.join(" "));
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    if let Command::Openapi = command {
        print!("{}", openapi::yaml()?);
        return Ok(());
    }
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let pool = db::connect(&settings.store, 10).map_err(|e| e.to_string())?;
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
        Command::Openapi => Ok(()),
    }
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

fn serve(settings: Settings, pool: concerto_persistence::Pool) -> Result<(), String> {
    let listener = TcpListener::bind(settings.bind).map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    let state = AppState::new(pool, TokenKeys::new(&settings.jwt_secret, settings.token_ttl_seconds));
    log::info!("serving on http://{} (docs at /docs/)", settings.bind);
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    actix_web::rt::System::new()
        .block_on(async move { server(state, listener, workers).map_err(|e| e.to_string())?.await.map_err(|e| e.to_string()) })
}
