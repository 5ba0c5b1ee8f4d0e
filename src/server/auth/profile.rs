//! The profile page's facts: the ID token's claims as the provider sent them (Asgardeo names the
//! organisation `org_name`), and each session's browser in a few words.

use serde::Deserialize;

use crate::model::{Profile, SessionSummary};
use crate::server::auth::session::{Current, Sessions};
use crate::server::storage::sign_ins::SignInRow;
use crate::server::support::seal::Sealer;

/// The claims the profile shows; any of them may be absent.
#[derive(Debug, Default, Deserialize)]
struct ProfileClaims {
    preferred_username: Option<String>,
    username: Option<String>,
    email: Option<String>,
    /// `false` (or `"false"`): the provider has not verified the address.
    email_verified: Option<serde_json::Value>,
    org_name: Option<String>,
    org_handle: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    groups: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    roles: Vec<String>,
}

/// Asgardeo sends a list, or a single string when there is one value (or a comma-separated
/// string, depending on the attribute's configuration).
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(value)) => value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect(),
        Some(OneOrMany::Many(values)) => values,
    })
}

/// The claims of the sign-in's ID token, for display only (never for access). It came to us
/// straight from the provider's token endpoint over TLS (verified in full at sign-in; after a
/// refresh, OIDC Core §3.1.3.7 lets TLS stand in for the signature) and has been sealed since.
fn claims_of(row: &SignInRow, sealer: &Sealer) -> ProfileClaims {
    row.tokens(sealer)
        .and_then(|tokens| tokens.id_token)
        .and_then(|token| jsonwebtoken::dangerous::insecure_decode::<ProfileClaims>(token).ok())
        .map(|data| data.claims)
        .unwrap_or_default()
}

/// What the sign-in's ID token says of its person beyond the name: where to mail them and
/// their roles. For display and explanations only, never for access.
pub struct Identity {
    /// `email`, for mailing notifications; none when the provider says it has not verified
    /// it (`email_verified` false).
    pub email: Option<String>,
    pub roles: Vec<String>,
}

pub fn identity(sessions: &Sessions, row: &SignInRow) -> Identity {
    let claims = claims_of(row, sessions.sealer());
    Identity {
        email: verified_email(&claims),
        roles: claims.roles,
    }
}

/// The roles the sign-in's ID token gives (for the "why" lines).
pub fn roles(sessions: &Sessions, row: &SignInRow) -> Vec<String> {
    claims_of(row, sessions.sealer()).roles
}

fn verified_email(claims: &ProfileClaims) -> Option<String> {
    let unverified = match &claims.email_verified {
        Some(serde_json::Value::Bool(verified)) => !verified,
        Some(serde_json::Value::String(said)) => said == "false",
        _ => false,
    };
    claims
        .email
        .clone()
        .filter(|email| !email.trim().is_empty() && !unverified)
}

/// The profile of the session's user; `all`: their live sign-ins.
pub fn profile(sessions: &Sessions, current: &Current, all: &[SignInRow], now: i64) -> Profile {
    let row = &current.row;
    let claims = claims_of(row, sessions.sealer());
    let this = sessions.handle(row);
    Profile {
        name: row.name.clone(),
        username: claims.preferred_username.or(claims.username),
        email: claims.email,
        organization: claims.org_name.or(claims.org_handle),
        groups: claims.groups,
        roles: claims.roles,
        scopes: row.scope_list(),
        started_at: row.created_at,
        deadlines: sessions.deadlines(current, now),
        sessions: all
            .iter()
            .map(|other| {
                let handle = sessions.handle(other);
                let current = handle == this;
                SessionSummary {
                    browser: browser_of(&other.user_agent),
                    first_seen: other.created_at,
                    last_seen: if current { now } else { sessions.last_seen(other) },
                    current,
                    handle,
                }
            })
            .collect(),
        // The server function adds them (the mail settings when the server mails).
        mail: None,
        access_requests: Vec::new(),
    }
}

/// "Firefox on Windows" from a `User-Agent`: enough to tell one's own sessions apart.
pub fn browser_of(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_string(),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => "An unknown browser".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_browsers() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(browser_of(chrome), "Chrome on Linux");
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(browser_of(firefox), "Firefox on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_of(safari), "Safari on iOS");
        assert_eq!(browser_of(""), "An unknown browser");
    }

    #[test]
    fn groups_and_roles_come_as_lists_or_strings() {
        let claims: ProfileClaims =
            serde_json::from_str(r#"{"groups":["Managers"],"roles":"Manager,Auditor"}"#).unwrap();
        assert_eq!(claims.groups, ["Managers"]);
        assert_eq!(claims.roles, ["Manager", "Auditor"]);
        let none: ProfileClaims = serde_json::from_str("{}").unwrap();
        assert!(none.groups.is_empty() && none.email.is_none());
    }
}
