//! The identity provider, live: discovery, its keys, the client's credentials and redirect URI.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::report::{Report, with_causes};
use crate::server::auth::jwks::KeySet;
use crate::server::auth::provider_client::{client, client_secret_basic, read_limited};
use crate::server::ops::config::{Config, TokenValidation};
use crate::server::support::network::is_secure_or_loopback;

/// The most of a provider's answer read.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

pub(super) async fn check_identity_provider(config: &Config, report: &mut Report) {
    #[cfg(feature = "dev-idp")]
    let _embedded = match &config.dev_idp {
        Some(dev) => match crate::server::ops::embedded_idp::start(config, dev).await {
            Ok(started) => {
                report.ok(
                    "provider",
                    format!("embedded development IdP started on {}", started.idp.local_addr()),
                );
                Some(started.idp)
            }
            Err(error) if error.is_address_in_use() => {
                report.note(
                    "provider",
                    format!(
                        "{} is in use (a running issues-app?): checking what answers there",
                        dev.listen
                    ),
                );
                None
            }
            Err(error) => {
                report.problem(
                    "provider",
                    format!("the embedded development IdP does not start: {error}"),
                    "correct the DevIdentityProvider section",
                );
                return;
            }
        },
        None => None,
    };
    let Ok(http) = client(config.identity_provider_timeout) else {
        report.problem(
            "provider",
            "cannot make an HTTP client",
            "check the machine's TLS set-up",
        );
        return;
    };
    let Some(discovery) = discover(config, &http, report).await else {
        return;
    };
    let text = |key: &str| discovery.get(key).and_then(Value::as_str).map(str::to_string);

    match text("issuer") {
        Some(issuer) if issuer == config.issuer => report.ok("provider", format!("issuer is `{issuer}`")),
        announced => report.problem(
            "provider",
            format!(
                "the provider announces issuer `{}`, this app expects `{}`",
                announced.unwrap_or_default(),
                config.issuer
            ),
            "Asgardeo's issuer is BaseOrganizationUrl + /oauth2/token: correct AuthorizationConfig.BaseOrganizationUrl \
             (or set AuthorizationConfig.Issuer for a provider that differs)",
        ),
    }

    let endpoints = [
        ("authorization_endpoint", "sign-in cannot start"),
        ("token_endpoint", "sign-in cannot finish"),
        ("revocation_endpoint", "sign-out cannot revoke refresh tokens"),
        ("end_session_endpoint", "sign-out cannot end the provider's session"),
    ];
    let mut announced = Vec::new();
    for (key, without) in endpoints {
        match text(key).map(|url| (url::Url::parse(&url), url)) {
            Some((Ok(url), _)) if config.allow_insecure_provider || is_secure_or_loopback(&url) => {
                announced.push(key)
            }
            Some((_, url)) => report.problem(
                "provider",
                format!("`{key}` is `{url}`: not an https URL (or http on this machine)"),
                "the provider must announce https endpoints (AuthorizationConfig.AllowInsecureProvider allows http, for development only)",
            ),
            None => report.problem(
                "provider",
                format!("discovery announces no `{key}`: {without}"),
                "use a provider that supports it, as Asgardeo does",
            ),
        }
    }
    if !announced.is_empty() {
        report.ok("provider", format!("announces {}", announced.join(", ")));
    }

    let jwks_url = config.jwks_url.clone().or_else(|| text("jwks_uri"));
    match jwks_url {
        Some(url) => check_jwks(&http, &url, report).await,
        None => report.problem(
            "provider",
            "discovery announces no `jwks_uri`",
            "set AuthorizationConfig.JwksUrl",
        ),
    }
    if config.token_validation == TokenValidation::Introspection && text("introspection_endpoint").is_none() {
        report.problem(
            "provider",
            "TokenValidation is `introspection`, but discovery announces no `introspection_endpoint`",
            "set AuthorizationConfig.TokenValidation to `jwks`",
        );
    }

    // The client secret goes only where the app itself would send it: not to a plain-http
    // endpoint off this machine that was just flagged above.
    if let Some(token_endpoint) = text("token_endpoint")
        && url::Url::parse(&token_endpoint)
            .is_ok_and(|url| config.allow_insecure_provider || is_secure_or_loopback(&url))
    {
        check_client_credentials(config, &http, &token_endpoint, report).await;
    }
    if let Some(authorization_endpoint) = text("authorization_endpoint") {
        check_redirect_uri(config, &http, &authorization_endpoint, report).await;
    }
    let back_channel = format!("{}/auth/backchannel-logout", config.origin());
    match discovery.get("backchannel_logout_supported").and_then(Value::as_bool) {
        Some(true) => report.note(
            "provider",
            format!(
                "register `{back_channel}` as the application's back-channel logout URL, so a sign-out at the provider ends sessions here"
            ),
        ),
        _ => report.note(
            "provider",
            "the provider announces no back-channel logout: after a sign-out elsewhere, sessions here last until they expire",
        ),
    }
}

/// The discovery document at Asgardeo's path, `{issuer}/.well-known/openid-configuration`.
async fn discover(config: &Config, http: &reqwest::Client, report: &mut Report) -> Option<Value> {
    let url = format!("{}/.well-known/openid-configuration", config.issuer);
    let fix_url = "check AuthorizationConfig.BaseOrganizationUrl (https://api.asgardeo.io/t/<organization>) and that this machine reaches it";
    let response = match http.get(&url).header("accept", "application/json").send().await {
        Ok(response) => response,
        Err(error) => {
            report.problem(
                "provider",
                format!("discovery at {url}: no answer ({})", with_causes(&error)),
                fix_url,
            );
            return None;
        }
    };
    let status = response.status();
    if !status.is_success() {
        report.problem("provider", format!("discovery at {url} answered {status}"), fix_url);
        return None;
    }
    let parsed = read_limited(response, MAX_ANSWER_BYTES)
        .await
        .and_then(|body| serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string()));
    match parsed {
        Ok(document) if document.is_object() => {
            report.ok("provider", format!("discovery answered at {url}"));
            Some(document)
        }
        Ok(_) | Err(_) => {
            report.problem("provider", format!("discovery at {url} is not a JSON object"), fix_url);
            None
        }
    }
}

async fn check_jwks(http: &reqwest::Client, url: &str, report: &mut Report) {
    let keys = match http.get(url).send().await {
        Ok(response) if response.status().is_success() => read_limited(response, MAX_ANSWER_BYTES)
            .await
            .and_then(|body| KeySet::parse(&body)),
        Ok(response) => Err(format!("answered {}", response.status())),
        Err(error) => Err(format!("no answer ({})", with_causes(&error))),
    };
    match keys {
        Ok(keys) if !keys.all.is_empty() => report.ok(
            "provider",
            format!("JWKS at {url} has {} RS256 signing key(s)", keys.all.len()),
        ),
        Ok(_) => report.problem(
            "provider",
            format!("JWKS at {url} has no RS256 signing key"),
            "tokens cannot be verified: the provider must publish an RS256 key",
        ),
        Err(error) => report.problem(
            "provider",
            format!("JWKS at {url}: {error}"),
            "check AuthorizationConfig.JwksUrl, or the provider's jwks_uri",
        ),
    }
}

/// Sends the client id and secret with a made-up authorization code: a provider that accepts the
/// credentials refuses the code (`invalid_grant`), one that does not says `invalid_client`.
async fn check_client_credentials(config: &Config, http: &reqwest::Client, token_endpoint: &str, report: &mut Report) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "issues-app-check-made-up-code"),
        ("redirect_uri", &config.redirect_uri()),
        ("code_verifier", &"v".repeat(43)),
    ];
    let answer = client_secret_basic(
        http.post(token_endpoint),
        &config.client_id,
        config.client_secret.expose(),
    )
    .form(&form)
    .send()
    .await;
    let (status, error) = match answer {
        Ok(response) => {
            let status = response.status();
            let body = read_limited(response, MAX_ANSWER_BYTES).await.unwrap_or_default();
            let error = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string));
            (status, error)
        }
        Err(error) => {
            report.problem(
                "provider",
                format!("token endpoint {token_endpoint}: no answer ({})", with_causes(&error)),
                "check that this machine reaches the provider",
            );
            return;
        }
    };
    let id = &config.client_id;
    match error.as_deref() {
        Some("invalid_grant") => report.ok(
            "provider",
            format!("client `{id}` and its secret are accepted by the token endpoint"),
        ),
        Some("invalid_client") => report.problem(
            "provider",
            format!("the token endpoint refuses client `{id}` with this secret (invalid_client)"),
            "copy the client id and secret from the application's Protocol tab in Asgardeo into \
             ApplicationConfig.ClientId and ApplicationConfig.ClientSecret (or ISSUES_APP_CLIENT_SECRET)",
        ),
        Some(code @ ("unauthorized_client" | "unsupported_grant_type")) => report.problem(
            "provider",
            format!("client `{id}` is accepted but may not use the authorization code grant ({code})"),
            "allow the `Code` grant type in the application's Protocol tab",
        ),
        other => report.problem(
            "provider",
            format!(
                "the token endpoint answered {status} ({}) to the credentials probe",
                other.unwrap_or("no OAuth error")
            ),
            "check the provider's logs for this client",
        ),
    }
}

/// Asks for a sign-in without any interaction (`prompt=none`): a provider sends the browser back
/// to a registered redirect URI (with `login_required`), and refuses an unregistered one.
async fn check_redirect_uri(
    config: &Config,
    http: &reqwest::Client,
    authorization_endpoint: &str,
    report: &mut Report,
) {
    let redirect_uri = config.redirect_uri();
    let Ok(mut probe) = url::Url::parse(authorization_endpoint) else {
        return;
    };
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &[b'v'; 43]));
    probe
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", "issues-app-check")
        .append_pair("prompt", "none")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let fix = format!(
        "add `{redirect_uri}` to the application's Authorized redirect URLs (Protocol tab), or correct ApplicationConfig.HostedUrl"
    );
    let response = match http.get(probe).send().await {
        Ok(response) => response,
        Err(error) => {
            report.problem(
                "provider",
                format!(
                    "authorization endpoint {authorization_endpoint}: no answer ({})",
                    with_causes(&error)
                ),
                "check that this machine reaches the provider",
            );
            return;
        }
    };
    let back = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| url::Url::parse(authorization_endpoint).ok()?.join(location).ok())
        .is_some_and(|location| location[..url::Position::AfterPath] == redirect_uri);
    match back {
        true => report.ok("provider", format!("redirect URI `{redirect_uri}` is registered")),
        false => report.problem(
            "provider",
            format!(
                "redirect URI `{redirect_uri}` is not registered for client `{}` (the provider answered {} instead of sending the browser back)",
                config.client_id,
                response.status()
            ),
            fix,
        ),
    }
}
