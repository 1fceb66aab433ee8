//! The server's outgoing HTTP client for the OpenID Provider: reqwest with
//! rustls on the process's one crypto provider, `ring` (webhooks build
//! their own per attempt on the same reqwest, `webhook_sender.rs`, pinned to
//! the addresses they checked).
//!
//! It also speaks `openidconnect`'s client trait, so the crate's requests
//! take the same client instead of the crate's own adapter (which pins
//! another reqwest major version).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use outbound_http as reqwest;

/// Sets `ring` as the process's TLS crypto provider. This reqwest and
/// OpenDAL's are built without a provider of their own (the default would
/// compile aws-lc as well). First-wins: later calls change nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client that never follows redirects (a token endpoint that redirects
/// could send the code elsewhere) and gives up after `timeout`.
#[derive(Clone)]
pub struct Client(reqwest::Client);

/// Why a request got no answer (connect, TLS, timeout, a body cut short).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] reqwest::Error);

impl Client {
    pub fn new(timeout: Duration) -> anyhow::Result<Client> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Client(client))
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let response = self.0.execute(reqwest::Request::try_from(request)?).await?;
        let mut answer = HttpResponse::new(Vec::new());
        *answer.status_mut() = response.status();
        *answer.version_mut() = response.version();
        *answer.headers_mut() = response.headers().clone();
        *answer.body_mut() = response.bytes().await?.to_vec();
        Ok(answer)
    }
}

impl<'c> AsyncHttpClient<'c> for Client {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
