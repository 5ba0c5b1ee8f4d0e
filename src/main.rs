//! The issues-app server: load config.json, start, serve until Ctrl-C / SIGTERM; or, with
//! `check`, check the configuration without serving.

use std::path::PathBuf;
use std::process::ExitCode;

use issues_app::server::ops::check;
use issues_app::server::ops::config::{Config, LogFormat, Overrides};
use issues_app::server::ops::telemetry;
use issues_app::server::startup::Application;

/// Request handling allocates many small, short-lived objects on every worker thread; mimalloc
/// serves those from thread-local pages (glibc's malloc showed up in profiles).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage: issues-app [--config FILE]         serve
       issues-app check [--config FILE]   check the configuration, the identity provider and the
                                          database without serving; exits 1 on any problem
FILE defaults to $ISSUES_APP_CONFIG, else ./config.json";

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
    let mut config_path = std::env::var("ISSUES_APP_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| "config.json".into());
    let mut checking = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "check" if !checking => checking = true,
            "--config" => config_path = args.next().ok_or(USAGE)?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if checking {
        telemetry::init("warn", LogFormat::Text);
        let report = check::check(&config_path, &Overrides::from_env()).await;
        println!("{report}");
        return match report.has_problems() {
            true => Err("the configuration has problems (see above)".into()),
            false => Ok(()),
        };
    }
    let config = Config::load(&config_path, &Overrides::from_env()).map_err(|e| e.to_string())?;
    telemetry::init("info", config.log_format);
    let leptos = leptos::config::get_configuration(Some("Leptos.toml"))
        .map_err(|e| format!("Leptos.toml: {e}"))?
        .leptos_options;
    let app = Application::build(config, leptos).await.map_err(|e| e.to_string())?;
    tracing::info!(address = %app.local_addr(), hosted = %app.state().config.load().hosted_url, "issues-app listening");
    app.run_until_stopped().await.map_err(|e| e.to_string())
}
