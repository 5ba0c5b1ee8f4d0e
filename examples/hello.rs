//! The machine's HTTP ceiling for the benchmark: axum answering a small JSON document, nothing
//! else. `cargo run --release --example hello --features ssr -- 127.0.0.1:3200`

use axum::{Json, Router, routing::get};

/// The same allocator as the app, so the ceiling is measured on equal terms.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3200".into());
    let router = Router::new().route("/hello", get(|| async { Json(serde_json::json!({"hello": "world"})) }));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, router).await
}
