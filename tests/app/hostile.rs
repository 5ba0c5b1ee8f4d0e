//! A hostile OpenID Provider for tests: it serves discovery, JWKS, authorize and token like a
//! real one, but answers whatever the test tells it to, and records every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dev_idp::SigningKey;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::harness::CLIENT_ID;

/// What the test can see of a request: what a token minter needs.
pub struct Mint<'a> {
    pub op: &'a HostileOp,
    /// Valid ID token claims for this request; cases change them.
    pub claims: Value,
    pub access_token: &'a str,
}

pub type Minter = Arc<dyn Fn(&Mint<'_>) -> String + Send + Sync>;
pub type ParamsEdit = Arc<dyn Fn(&mut Vec<(String, String)>) + Send + Sync>;
pub type JsonEdit = Arc<dyn Fn(&mut Value) + Send + Sync>;

#[derive(Clone)]
pub enum TokenAnswer {
    Normal,
    /// The normal JSON, edited.
    Edited(Arc<dyn Fn(&mut Value) + Send + Sync>),
    Status(u16, &'static str, &'static str),
    Huge(usize),
    /// A body that never ends, sent as fast as the client reads.
    Endless,
    RedirectTo(String),
    Slow(Duration),
}

#[derive(Clone)]
pub struct Behaviour {
    pub discovery_issuer: Option<String>,
    pub iss_parameter_supported: bool,
    /// Which keys the JWKS publishes: 0 = primary, 1 = second.
    pub published: Vec<usize>,
    pub jwks_down: bool,
    /// `Cache-Control: max-age` on the JWKS answer.
    pub jwks_max_age: Option<u64>,
    /// Changes to the discovery document.
    pub discovery_edit: Option<JsonEdit>,
    pub id_token: Minter,
    pub token: TokenAnswer,
    pub callback: Option<ParamsEdit>,
}

pub struct HostileOp {
    pub base: String,
    pub issuer: String,
    pub keys: Vec<SigningKey>,
    /// A key the OP never publishes: an attacker's.
    pub attacker: SigningKey,
    pub behaviour: Mutex<Behaviour>,
    pub hits: Mutex<Vec<String>>,
    last_nonce: Mutex<Option<String>>,
}

impl HostileOp {
    pub async fn start() -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let op = Arc::new(Self {
            issuer: format!("{base}/oauth2/token"),
            base,
            keys: vec![SigningKey::generate().unwrap(), SigningKey::generate().unwrap()],
            attacker: SigningKey::generate().unwrap(),
            behaviour: Mutex::new(Behaviour {
                discovery_issuer: None,
                iss_parameter_supported: true,
                published: vec![0],
                jwks_down: false,
                jwks_max_age: None,
                discovery_edit: None,
                id_token: Arc::new(|mint: &Mint<'_>| mint.op.sign(0, &mint.claims)),
                token: TokenAnswer::Normal,
                callback: None,
            }),
            hits: Mutex::new(Vec::new()),
            last_nonce: Mutex::new(None),
        });
        let router = Router::new()
            .route("/oauth2/token/.well-known/openid-configuration", get(discovery))
            .route("/oauth2/jwks", get(jwks))
            .route("/oauth2/authorize", get(authorize))
            .route("/oauth2/token", post(token))
            .route("/oauth2/userinfo", get(userinfo))
            .route("/elsewhere", get(elsewhere).post(elsewhere))
            .with_state(op.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        op
    }

    /// The organization URL to configure: the issuer minus `/oauth2/token`.
    pub fn organization_url(&self) -> String {
        self.base.clone()
    }

    pub fn set(&self, edit: impl FnOnce(&mut Behaviour)) {
        edit(&mut self.behaviour.lock().unwrap());
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|hit| hit.as_str() == path)
            .count()
    }

    /// Signs with key `index` (0 primary, 1 second) and its `kid`.
    pub fn sign(&self, index: usize, claims: &Value) -> String {
        let key = &self.keys[index];
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid().to_string());
        key.sign_with(&header, claims).unwrap()
    }

    pub fn valid_claims(&self, nonce: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer,
            "sub": "mallory",
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "name": "Mallory",
        })
    }

    fn record(&self, path: &str) {
        self.hits.lock().unwrap().push(path.to_string());
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `header.payload.signature` with a chosen header and no real signature.
pub fn unsigned(header: Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

type Op = State<Arc<HostileOp>>;

async fn discovery(State(op): Op) -> Response {
    op.record("/discovery");
    let behaviour = op.behaviour.lock().unwrap().clone();
    let base = &op.base;
    let mut document = json!({
        "issuer": behaviour.discovery_issuer.unwrap_or_else(|| op.issuer.clone()),
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "userinfo_endpoint": format!("{base}/oauth2/userinfo"),
        "jwks_uri": format!("{base}/oauth2/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "authorization_response_iss_parameter_supported": behaviour.iss_parameter_supported,
    });
    if let Some(edit) = behaviour.discovery_edit {
        edit(&mut document);
    }
    axum::Json(document).into_response()
}

async fn jwks(State(op): Op) -> Response {
    op.record("/oauth2/jwks");
    let behaviour = op.behaviour.lock().unwrap().clone();
    if behaviour.jwks_down {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys: Vec<Value> = behaviour
        .published
        .iter()
        .map(|index| serde_json::to_value(op.keys[*index].jwk()).unwrap())
        .collect();
    let mut response = axum::Json(json!({ "keys": keys })).into_response();
    if let Some(seconds) = behaviour.jwks_max_age {
        let value = HeaderValue::from_str(&format!("public, max-age={seconds}")).unwrap();
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

async fn authorize(State(op): Op, RawQuery(query): RawQuery) -> Response {
    op.record("/oauth2/authorize");
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    *op.last_nonce.lock().unwrap() = params.get("nonce").cloned();
    let mut answer = vec![
        ("code".to_string(), "hostile-code".to_string()),
        ("state".to_string(), params.get("state").cloned().unwrap_or_default()),
        ("iss".to_string(), op.issuer.clone()),
    ];
    if let Some(edit) = op.behaviour.lock().unwrap().callback.clone() {
        edit(&mut answer);
    }
    let mut url = url::Url::parse(
        params
            .get("redirect_uri")
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1:9/"),
    )
    .unwrap();
    url.query_pairs_mut().extend_pairs(answer);
    Redirect::to(url.as_str()).into_response()
}

async fn token(State(op): Op) -> Response {
    op.record("/oauth2/token");
    let behaviour = op.behaviour.lock().unwrap().clone();
    let nonce = op.last_nonce.lock().unwrap().clone().unwrap_or_default();
    let access_token = "hostile-access-token";
    let normal = || {
        let mint = Mint {
            op: &op,
            claims: op.valid_claims(&nonce),
            access_token,
        };
        json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "refresh_token": "hostile-refresh-token",
            "id_token": (behaviour.id_token)(&mint),
            "scope": "openid profile issues:view",
        })
    };
    match behaviour.token {
        TokenAnswer::Normal => axum::Json(normal()).into_response(),
        TokenAnswer::Edited(edit) => {
            let mut body = normal();
            edit(&mut body);
            axum::Json(body).into_response()
        }
        TokenAnswer::Status(status, body, content_type) => {
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        TokenAnswer::Huge(bytes) => {
            let body = format!("{{\"access_token\": \"{}\"}}", "a".repeat(bytes));
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        TokenAnswer::Endless => {
            let chunk = axum::body::Bytes::from(vec![b' '; 16 * 1024]);
            let endless = futures_util::stream::repeat_with(move || Ok::<_, std::convert::Infallible>(chunk.clone()));
            (
                [(header::CONTENT_TYPE, "application/json")],
                axum::body::Body::from_stream(endless),
            )
                .into_response()
        }
        TokenAnswer::RedirectTo(url) => Redirect::temporary(&url).into_response(),
        TokenAnswer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            axum::Json(normal()).into_response()
        }
    }
}

async fn userinfo(State(op): Op) -> Response {
    op.record("/oauth2/userinfo");
    axum::Json(json!({"sub": "mallory"})).into_response()
}

async fn elsewhere(State(op): Op) -> Response {
    op.record("/elsewhere");
    axum::Json(json!({"keys": []})).into_response()
}
