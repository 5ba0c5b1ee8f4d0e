//! config.json: the file admins edit. Accepts the original Asgardeo demo's file as it is, plus
//! optional sections this app needs. Validated once at start-up; every error names the file,
//! the field and what is expected.
//!
//! Start at `checker.rs`: `Config::load` reads the file into the serde structs that mirror it
//! (`file.rs`), words the reader's errors for admins (`hints.rs`), and checks it one section at a
//! time into the `Config` the app runs with (`checked.rs`). The rest of the app names everything through the
//! re-exports below (`crate::server::ops::config::X`).

mod checked;
mod checker;
#[cfg(test)]
mod delivery_tests;
mod features_section;
#[cfg(test)]
mod features_tests;
mod file;
mod hints;
mod server_section;
#[cfg(test)]
mod tests;
mod webhooks_section;

pub use checked::{
    Config, ConnectionLimits, DevIdpConfig, LogFormat, Overrides, Secret, Smtp, SmtpTls, TokenValidation, Webhook,
    signing_key,
};
pub use file::ConfigError;
