//! `dev-idp [--directory FILE] [--listen ADDR] [--key-file FILE] [--public-url URL] [--allow-remote]`
//!
//! Serves until Ctrl-C or SIGTERM; SIGHUP rotates the signing key (the old one stays published).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use dev_idp::{Directory, Options};

const USAGE: &str =
    "usage: dev-idp [--directory FILE] [--listen ADDR] [--key-file FILE] [--public-url URL] [--allow-remote]

  --directory FILE   directory JSON (default: the built-in one with john and emily)
  --listen ADDR      address to listen on (default: 127.0.0.1:9443)
  --key-file FILE    where signing keys persist (default: ./dev-idp-keys.json)
  --public-url URL   base URL clients use, if not http://ADDR
  --allow-remote     allow a non-loopback listen address

Stops on Ctrl-C or SIGTERM. SIGHUP rotates the signing key (the old one stays published).";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dev-idp: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mut directory_file: Option<PathBuf> = None;
    let mut listen: SocketAddr = ([127, 0, 0, 1], 9443).into();
    let mut key_file = PathBuf::from("dev-idp-keys.json");
    let mut public_url = None;
    let mut allow_remote = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--directory" => directory_file = Some(value("--directory")?.into()),
            "--listen" => {
                let text = value("--listen")?;
                listen = text
                    .parse()
                    .map_err(|_| format!("--listen: `{text}` is not an address like 127.0.0.1:9443"))?;
            }
            "--key-file" => key_file = value("--key-file")?.into(),
            "--public-url" => public_url = Some(value("--public-url")?),
            "--allow-remote" => allow_remote = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let directory = match &directory_file {
        Some(path) => Directory::from_file(path).map_err(|e| e.to_string())?,
        None => Directory::development(),
    };
    let users: Vec<String> = directory.users().iter().map(|u| u.username.clone()).collect();
    let idp = dev_idp::start(Options {
        directory,
        listen,
        key_file: Some(key_file),
        public_url,
        allow_remote,
    })
    .await
    .map_err(|e| e.to_string())?;
    println!("dev-idp listening on http://{}", idp.local_addr());
    println!("issuer:    {}", idp.issuer());
    println!("discovery: {}/.well-known/openid-configuration", idp.issuer());
    println!("users:     {}", users.join(", "));
    serve_until_stopped(&idp).await?;
    idp.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn serve_until_stopped(idp: &dev_idp::RunningIdp) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            stopped = tokio::signal::ctrl_c() => return stopped.map_err(|e| e.to_string()),
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => match idp.rotate_signing_key() {
                Ok(kid) => println!("signing key rotated: {kid}"),
                Err(error) => eprintln!("dev-idp: rotating the signing key failed: {error}"),
            },
        }
    }
}

#[cfg(not(unix))]
async fn serve_until_stopped(_idp: &dev_idp::RunningIdp) -> Result<(), String> {
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
}
