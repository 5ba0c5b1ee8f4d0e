//! The issues-app server: load config.json, start, serve until Ctrl-C / SIGTERM. Its other
//! commands check the configuration, back the database up, move a team's data out and in, and
//! forget a person; each reads the same config.json.

use std::process::ExitCode;

use issues_app::server::ops::cli::{Command, USAGE, parse_args};
use issues_app::server::ops::config::{Config, LogFormat, Overrides};
use issues_app::server::ops::{admin, check, telemetry};
use issues_app::server::startup::Application;

/// Request handling allocates many small, short-lived objects on every worker thread; mimalloc
/// serves those from thread-local pages (glibc's malloc showed up in profiles). It is built
/// without transparent huge pages (Cargo.toml), so an idle server holds only the pages it uses.
#[cfg(not(feature = "heap-stats"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The soak's build counts the live heap (`ops::heap`).
#[cfg(feature = "heap-stats")]
#[global_allocator]
static ALLOCATOR: issues_app::server::ops::heap::Counting<mimalloc::MiMalloc> =
    issues_app::server::ops::heap::Counting(mimalloc::MiMalloc);

/// The Leptos site settings, compiled in: the binary runs from any directory.
const LEPTOS_SETTINGS: &str = include_str!("../Leptos.toml");

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("issues-app: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let Some((command, config_path)) = parse_args(std::env::args().skip(1), std::env::var("ISSUES_APP_CONFIG").ok())?
    else {
        println!("{USAGE}");
        return Ok(());
    };
    let overrides = Overrides::from_env();
    if let Command::Check = command {
        telemetry::init("warn", LogFormat::Text);
        let report = check::check(&config_path, &overrides).await;
        println!("{report}");
        return match report.has_problems() {
            true => Err("the configuration has problems (see above)".into()),
            false => Ok(()),
        };
    }
    let config = Config::load(&config_path, &overrides).map_err(|e| e.to_string())?;
    let done = match command {
        Command::Serve => return serve(config).await,
        Command::Check => return Ok(()),
        Command::Backup { to } => admin::backup(&config, &to).await,
        Command::Export { audit, to } => admin::export(&config, audit, to.as_deref()).await,
        Command::Import { from, into_non_empty } => admin::import(&config, &from, into_non_empty).await,
        Command::ForgetPerson { sub } => admin::forget_person(&config, &sub).await,
    };
    let said = done.map_err(|e| e.to_string())?;
    eprintln!("issues-app: {said}");
    Ok(())
}

async fn serve(config: Config) -> Result<(), String> {
    telemetry::init("info", config.log_format);
    let leptos =
        leptos::config::get_config_from_str(LEPTOS_SETTINGS).map_err(|e| format!("Leptos.toml (compiled in): {e}"))?;
    let app = Application::build(config, leptos).await.map_err(|e| e.to_string())?;
    tracing::info!(address = %app.local_addr(), hosted = %app.state().config.load().hosted_url, "issues-app listening");
    app.run_until_stopped().await.map_err(|e| e.to_string())
}
