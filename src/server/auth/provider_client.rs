//! The HTTP client used to talk to the IdP: no redirects followed, short timeouts, bounded
//! bodies.

use std::time::Duration;

/// How long an idle connection to the provider is kept for reuse.
const POOL_IDLE: Duration = Duration::from_secs(5);

pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3).min(timeout))
        // Close idle connections before the provider does (the dev IdP after 10 s, servers
        // commonly after 15 s or more): a request sent on a connection the server is closing at
        // that moment fails, and a token exchange is not retried (seen once in a soak: a
        // sign-in answered 503).
        .pool_idle_timeout(POOL_IDLE)
        .timeout(timeout)
        .user_agent(concat!("issues-app/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Client authentication `client_secret_basic`: id and secret form-encoded, then Basic
/// (RFC 6749 §2.3.1).
pub fn client_secret_basic(request: reqwest::RequestBuilder, id: &str, secret: &str) -> reqwest::RequestBuilder {
    let encode = |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    request.basic_auth(encode(id), Some(encode(secret)))
}

/// The response body, refused when larger than `max` bytes.
pub async fn read_limited(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|length| length as usize > max) {
        return Err(format!("response larger than {max} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the response failed: {e}"))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("response larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a call through [`BoundedClient`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No answer: refused, timed out, TLS failed (the provider is unavailable).
    #[error("{0}")]
    Unreachable(#[from] reqwest::Error),
    /// An answer that cannot be used: too large, cut short, not HTTP.
    #[error("{0}")]
    BadAnswer(String),
}

/// The provider's HTTP client as openidconnect's token requests see it: the same client, but
/// the answer is read with [`read_limited`] (openidconnect's own reqwest adapter reads any size).
#[derive(Clone)]
pub struct BoundedClient {
    client: reqwest::Client,
    max: usize,
}

impl BoundedClient {
    pub fn new(client: reqwest::Client, max: usize) -> Self {
        Self { client, max }
    }

    async fn call(&self, request: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, CallError> {
        let request = reqwest::Request::try_from(request)?;
        let response = self.client.execute(request).await?;
        let mut answer = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let body = read_limited(response, self.max).await.map_err(CallError::BadAnswer)?;
        answer
            .body(body)
            .map_err(|error| CallError::BadAnswer(error.to_string()))
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for BoundedClient {
    type Error = CallError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, CallError>> + Send + 'c>>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(BoundedClient::call(self, request))
    }
}
