//! The machine's HTTP ceilings for the benchmark, with nothing of the app's work:
//! - `/hello`: axum answering a small JSON document;
//! - `/same/{name}`: a recorded answer of the app (`{dir}/{name}.json`: status, headers and
//!   body), replayed byte for byte to any method, so a ceiling sends exactly what the app sends.
//!
//! `cargo run --release --example hello --features ssr -- 127.0.0.1:3200 [recordings dir]`

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use base64::Engine;

/// The same allocator as the app, so the ceiling is measured on equal terms.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A recorded answer, as bench.py writes it.
#[derive(serde::Deserialize)]
struct Recording {
    status: u16,
    headers: Vec<(String, String)>,
    body_base64: String,
}

type Recordings = Arc<HashMap<String, (StatusCode, HeaderMap, Bytes)>>;

fn load(dir: Option<String>) -> Result<Recordings, Box<dyn std::error::Error>> {
    let mut recordings = HashMap::new();
    let Some(dir) = dir else {
        return Ok(Arc::new(recordings));
    };
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let Some(name) = path.file_stem().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let recording: Recording = serde_json::from_slice(&std::fs::read(&path)?)?;
        let mut headers = HeaderMap::new();
        for (name, value) in recording.headers {
            headers.append(HeaderName::try_from(name)?, HeaderValue::try_from(value)?);
        }
        let body = base64::engine::general_purpose::STANDARD.decode(recording.body_base64)?;
        recordings.insert(
            name,
            (StatusCode::from_u16(recording.status)?, headers, Bytes::from(body)),
        );
    }
    Ok(Arc::new(recordings))
}

async fn replay(State(recordings): State<Recordings>, Path(name): Path<String>) -> Response {
    match recordings.get(&name) {
        Some((status, headers, body)) => (*status, headers.clone(), body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:3200".into());
    let recordings = load(args.next())?;
    let router = Router::new()
        .route("/hello", get(|| async { Json(serde_json::json!({"hello": "world"})) }))
        .route("/same/{name}", any(replay))
        .with_state(recordings);
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, router).await?;
    Ok(())
}
