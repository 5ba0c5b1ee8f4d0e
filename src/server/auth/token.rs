//! What bearer-token verification answers, whichever way a token is judged (locally against
//! the JWKS in `bearer.rs`, or by the provider in `introspection.rs`): the refusal and the
//! `scope` claim in both of its shapes.

use serde::Deserialize;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// RFC 6750 `invalid_token`: 401.
    #[error("{0}")]
    Invalid(String),
    /// The IdP could not be asked (introspection mode): 503.
    #[error("the identity provider is unavailable")]
    Unavailable,
    /// This client address has caused too many provider calls lately (introspection mode): 429.
    #[error("too many new tokens from this address; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
}

/// `scope`: a space-separated string, or an array where the IdP is configured so.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

impl ScopeClaim {
    pub fn into_list(self) -> Vec<String> {
        match self {
            Self::Text(text) => text.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            Self::List(list) => list,
        }
    }
}

/// `aud`: one audience, or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn into_list(self) -> Vec<String> {
        match self {
            Self::One(aud) => vec![aud],
            Self::Many(auds) => auds,
        }
    }
}

/// The refusal of a token meant for another API: its `aud` and the audiences this app accepts
/// (the client id and `AuthorizationConfig.Audiences`), so the admin sees what to add.
pub fn for_another_audience(aud: &[String], accepted: &[String]) -> String {
    // Printable and bounded: the text goes into a header too.
    let quoted = |names: &[String]| -> String {
        let named: Vec<String> = names
            .iter()
            .take(8)
            .map(|name| {
                let name: String = name
                    .chars()
                    .filter(|c| c.is_ascii_graphic() || *c == ' ')
                    .take(120)
                    .collect();
                format!("`{name}`")
            })
            .collect();
        match named.is_empty() {
            true => "none".to_string(),
            false => named.join(", "),
        }
    };
    format!(
        "the access token is for another audience: its `aud` is {}; this API accepts {} \
         (the client id and AuthorizationConfig.Audiences)",
        quoted(aud),
        quoted(accepted)
    )
}
