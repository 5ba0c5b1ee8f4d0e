//! The end-session endpoint (RP-initiated logout) and the OIDC Back-Channel Logout tokens it sends.

use jsonwebtoken::{Algorithm, Validation};
use serde_json::json;

use super::shared::{Params, Provider};
use super::tokens::{self, IdTokenHint};
use crate::store::{IdpSession, digest_of};

/// What logout led to.
pub enum LogoutOutcome {
    Redirect(String),
    SignedOut,
}

impl Provider {
    // ----- logout -----------------------------------------------------------------------------

    pub fn logout(&self, params: &Params, session_cookie: Option<&str>) -> Result<LogoutOutcome, String> {
        let hint = match params.get("id_token_hint") {
            Some(token) => {
                let mut validation = Validation::new(Algorithm::RS256);
                validation.set_issuer(&[&self.urls.issuer]);
                // The hint may have expired: it identifies, it does not authorize.
                validation.validate_exp = false;
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["iss", "sub", "aud"]);
                let data = self
                    .keys
                    .verify::<IdTokenHint>(token, &validation)
                    .ok_or("The id_token_hint is not an ID token issued by this provider.")?;
                Some(data.claims)
            }
            None => None,
        };
        let client_id = match (params.get("client_id"), &hint) {
            (Some(client_id), Some(hint)) if !hint.aud.contains(client_id) => {
                return Err("client_id does not match the id_token_hint.".into());
            }
            (Some(client_id), _) => Some(client_id.to_string()),
            (None, Some(hint)) => match &hint.aud {
                tokens::Audience::One(aud) => Some(aud.clone()),
                tokens::Audience::Many(list) => list.first().cloned(),
            },
            (None, None) => None,
        };
        let directory = self.directory();
        let redirect = match params.get("post_logout_redirect_uri") {
            Some(uri) => {
                let app = client_id
                    .as_deref()
                    .and_then(|id| directory.application(id))
                    .ok_or("post_logout_redirect_uri needs id_token_hint or client_id to identify the application.")?;
                if !app.post_logout_redirect_uris.iter().any(|registered| registered == uri) {
                    return Err("The post_logout_redirect_uri is not registered for this application.".into());
                }
                let Ok(mut url) = url::Url::parse(uri) else {
                    return Err("The post_logout_redirect_uri is not a URL.".into());
                };
                if let Some(state) = params.get("state") {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(url.to_string())
            }
            None => None,
        };

        let ended = {
            let mut tables = self.store.lock();
            let cookie_key = session_cookie.map(digest_of);
            let hinted_sid = hint.as_ref().and_then(|h| h.sid.clone());
            let keys: Vec<String> = tables
                .sessions
                .iter()
                .filter(|(key, session)| Some(*key) == cookie_key.as_ref() || Some(&session.sid) == hinted_sid.as_ref())
                .map(|(key, _)| key.clone())
                .collect();
            keys.iter()
                .filter_map(|key| tables.sessions.remove(key))
                .collect::<Vec<_>>()
        };
        for session in &ended {
            tracing::info!(sid = %session.sid, "IdP session ended");
            self.send_back_channel_logout(session);
        }
        Ok(match redirect {
            Some(url) => LogoutOutcome::Redirect(url),
            None => LogoutOutcome::SignedOut,
        })
    }

    /// OIDC Back-Channel Logout 1.0: a logout token to every application of the session that
    /// registered a back-channel URL. Sent in the background; failures are logged.
    fn send_back_channel_logout(&self, session: &IdpSession) {
        let directory = self.directory();
        for client_id in &session.clients {
            let Some(app) = directory.application(client_id) else {
                continue;
            };
            let Some(url) = app.back_channel_logout_url.clone() else {
                continue;
            };
            let now = self.clock.now();
            let claims = json!({
                "iss": self.urls.issuer,
                "aud": client_id,
                "iat": now,
                "exp": now + 120,
                "jti": uuid::Uuid::new_v4().to_string(),
                "sub": session.user_sub.to_string(),
                "sid": session.sid,
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            });
            let token = match self.keys.sign("logout+jwt", &claims) {
                Ok(token) => token,
                Err(error) => {
                    tracing::error!(%error, "could not sign a logout token");
                    continue;
                }
            };
            let client = self.back_channel.clone();
            tokio::spawn(async move {
                let result = client.post(url.clone()).form(&[("logout_token", token)]).send().await;
                match result {
                    Ok(response) if response.status().is_success() => {
                        tracing::info!(%url, "back-channel logout delivered");
                    }
                    Ok(response) => {
                        tracing::warn!(%url, status = %response.status(), "back-channel logout refused")
                    }
                    Err(error) => tracing::warn!(%url, %error, "back-channel logout failed"),
                }
            });
        }
    }
}
