//! The issues-app server: load config.json, start, serve until Ctrl-C / SIGTERM. Its other
//! commands check the configuration, back the database up, move a team's data out and in, and
//! forget a person; each reads the same config.json.

use std::path::PathBuf;
use std::process::ExitCode;

use issues_app::server::ops::config::{Config, LogFormat, Overrides};
use issues_app::server::ops::{admin, check, telemetry};
use issues_app::server::startup::Application;

/// Request handling allocates many small, short-lived objects on every worker thread; mimalloc
/// serves those from thread-local pages (glibc's malloc showed up in profiles).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Leptos site settings, compiled in: the binary runs from any directory.
const LEPTOS_SETTINGS: &str = include_str!("../Leptos.toml");

const USAGE: &str = "\
usage: issues-app [--config FILE]                      serve
       issues-app check [--config FILE]                check the configuration, the identity
                                                       provider and the database without serving;
                                                       exits 1 on any problem
       issues-app backup --to BACKUP [--config FILE]   a consistent copy of the SQLite database,
                                                       also while the app serves
       issues-app export [--audit] [--to FILE] [--config FILE]
                                                       issues, comments and people (and the audit
                                                       trail) as JSON Lines, to FILE or stdout
       issues-app import [--into-non-empty] FROM [--config FILE]
                                                       an export into this database (FROM `-`:
                                                       stdin); an empty database unless told
       issues-app forget-person SUB [--config FILE]    replace the name of the person with that
                                                       subject id everywhere (audited)
FILE defaults to $ISSUES_APP_CONFIG, else ./config.json";

/// What the command line asks for.
enum Command {
    Serve,
    Check,
    Backup { to: PathBuf },
    Export { audit: bool, to: Option<PathBuf> },
    Import { from: PathBuf, into_non_empty: bool },
    ForgetPerson { sub: String },
}

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
    let Some((command, config_path)) = parse_args(std::env::args().skip(1))? else {
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

/// The command and the config file; `None` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<(Command, PathBuf)>, String> {
    let mut config_path = std::env::var("ISSUES_APP_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| "config.json".into());
    let mut command: Option<Command> = None;
    let (mut audit, mut into_non_empty) = (false, false);
    let mut to: Option<PathBuf> = None;
    let mut operand: Option<String> = None;
    let usage = |problem: String| format!("{problem}\n{USAGE}");
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| usage(format!("`{name}` needs a value")));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--config" => config_path = value("--config")?.into(),
            "--to" => to = Some(value("--to")?.into()),
            "--audit" => audit = true,
            "--into-non-empty" => into_non_empty = true,
            "check" | "backup" | "export" | "import" | "forget-person" if command.is_none() => {
                command = Some(match arg.as_str() {
                    "check" => Command::Check,
                    "backup" => Command::Backup { to: PathBuf::new() },
                    "export" => Command::Export { audit: false, to: None },
                    "import" => Command::Import {
                        from: PathBuf::new(),
                        into_non_empty: false,
                    },
                    _ => Command::ForgetPerson { sub: String::new() },
                })
            }
            other if !other.starts_with('-') && operand.is_none() && command.is_some() => {
                operand = Some(other.to_string())
            }
            other => return Err(usage(format!("unknown argument `{other}`"))),
        }
    }
    let command = match command.unwrap_or(Command::Serve) {
        Command::Backup { .. } => Command::Backup {
            to: to.take().ok_or_else(|| usage("`backup` needs `--to BACKUP`".into()))?,
        },
        Command::Export { .. } => Command::Export { audit, to: to.take() },
        Command::Import { .. } => Command::Import {
            from: operand
                .take()
                .ok_or_else(|| usage("`import` needs the file to read (`-`: stdin)".into()))?
                .into(),
            into_non_empty,
        },
        Command::ForgetPerson { .. } => Command::ForgetPerson {
            sub: operand
                .take()
                .ok_or_else(|| usage("`forget-person` needs the person's subject id (`sub`)".into()))?,
        },
        other => other,
    };
    let unused = [
        to.map(|_| "--to"),
        operand.map(|_| "an operand"),
        audit
            .then_some("--audit")
            .filter(|_| !matches!(command, Command::Export { .. })),
        into_non_empty
            .then_some("--into-non-empty")
            .filter(|_| !matches!(command, Command::Import { .. })),
    ];
    if let Some(extra) = unused.into_iter().flatten().next() {
        return Err(usage(format!("{extra} does not go with this command")));
    }
    Ok(Some((command, config_path)))
}
