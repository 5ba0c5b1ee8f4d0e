//! The app and a dev IdP over real HTTP: sign-in, sessions, server functions, the bearer REST
//! API, refresh, logout, configuration. The root of the `app` test binary: one module per subject.

mod access_roles;
mod audit;
mod browser_api;
mod check;
mod delivery;
mod edge;
mod harness;
mod home;
mod hostile;
mod hostile_cases;
mod lifecycle;
mod live_reload;
mod logs;
mod mail;
mod peer_op;
mod people;
mod release_archive;
mod rest_api;
mod sign_in;
mod sign_in_core;
mod startup;
mod step_up;
mod tracker;
mod transfer;
mod upgrade;
mod webhook_receiver;
mod webhooks;

use base64::Engine;
use harness::SESSION_KEY;
use issues_app::server::support::seal::Sealer;

fn sealer() -> Sealer {
    Sealer::from_base64(&base64::engine::general_purpose::STANDARD.encode(SESSION_KEY)).unwrap()
}
