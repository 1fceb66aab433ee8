//! The company's OpenID Provider (`auth.oidc`): the authorization code flow
//! with PKCE, through the `openidconnect` crate (discovery, token exchange,
//! ID token checks: signature against the provider's JWKS, issuer, audience,
//! expiry, nonce).
//!
//! Nothing is cached: each step reads the provider's discovery document and
//! keys again, so a key the provider rotated in is used at the next sign-in
//! (two small requests per sign-in; sign-ins are rare).

use std::time::Duration;

use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse,
};

use crate::config::Config;
use crate::outbound;

type Discovered = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why the provider could not vouch for someone; logged in full.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Unreachable, a timeout, a discovery document that is not one.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider answered the code exchange with an error (a wrong client
    /// secret, an expired or reused code).
    #[error("provider refused the code: {0}")]
    Refused(String),
    /// The ID token is missing or fails a check.
    #[error("ID token refused: {0}")]
    InvalidToken(String),
}

/// Where to send the browser, and what to remember until it comes back.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The claims of a verified ID token that Afisha uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `iss` and `sub`, space-separated (the issuer is a URL: no spaces).
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub full_name: Option<String>,
    /// The values of `auth.oidc.groups_claim` (a list or a single string).
    pub groups: Vec<String>,
}

#[derive(Clone)]
pub struct Provider {
    issuer: String,
    client_id: String,
    client_secret: String,
    scopes: Vec<String>,
    groups_claim: String,
    redirect: RedirectUrl,
    http: outbound::Client,
}

impl Provider {
    /// The configured provider, or `None` when `auth.oidc.issuer` is unset.
    /// Contacts nobody: a provider that is down only fails its sign-ins.
    pub fn open(config: &Config) -> anyhow::Result<Option<Provider>> {
        let c = &config.auth.oidc;
        let Some(issuer) = &c.issuer else {
            return Ok(None);
        };
        let redirect = RedirectUrl::new(format!("{}/api/auth/oidc/callback", config.public_url()))?;
        let http = outbound::Client::new(Duration::from_secs(c.timeout_secs))?;
        Ok(Some(Provider {
            issuer: issuer.clone(),
            client_id: c.client_id.clone().unwrap_or_default(),
            client_secret: c.client_secret.clone().unwrap_or_default(),
            scopes: c.scopes.clone(),
            groups_claim: c.groups_claim.clone(),
            redirect,
            http,
        }))
    }

    async fn client(&self) -> Result<Discovered, ProviderError> {
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|e| ProviderError::Unavailable(format!("issuer URL: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| ProviderError::Unavailable(format!("discovery: {}", chain(&e))))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            Some(ClientSecret::new(self.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// The provider's authorization URL for a new sign-in, with a fresh
    /// state, nonce and PKCE (S256) challenge.
    pub async fn authorize(&self) -> Result<Authorization, ProviderError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code and checks the ID token against the provider's
    /// current keys and the nonce sent with the sign-in.
    pub async fn identify(
        &self,
        code: String,
        nonce: String,
        pkce_verifier: String,
    ) -> Result<Identity, ProviderError> {
        let client = self.client().await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| ProviderError::Unavailable(format!("no token endpoint: {e}")))?;
        let response = request
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => ProviderError::Refused(r.to_string()),
                RequestTokenError::Request(e) => {
                    ProviderError::Unavailable(format!("token request: {}", chain(&e)))
                }
                other => ProviderError::Refused(chain(&other)),
            })?;
        let token = response
            .id_token()
            .ok_or_else(|| ProviderError::InvalidToken("no ID token in the answer".into()))?;
        let claims = token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce))
            .map_err(|e| ProviderError::InvalidToken(chain(&e)))?;
        let full_name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string());
        Ok(Identity {
            subject: format!("{} {}", claims.issuer().as_str(), claims.subject().as_str()),
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: claims.email_verified() == Some(true),
            full_name,
            groups: groups(&token.to_string(), &self.groups_claim),
        })
    }
}

/// The groups claim of an ID token already verified: read from its payload
/// (the crate's claim types have no room for a claim named in the config).
fn groups(jwt: &str, claim: &str) -> Vec<String> {
    let Some(payload) = jwt.split('.').nth(1) else {
        return Vec::new();
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    match value.get(claim) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// An error with its sources, for the log line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: serde_json::Value) -> String {
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&payload).unwrap());
        format!("e30.{body}.sig")
    }

    #[test]
    fn groups_are_a_list_or_one_string() {
        let token = jwt(serde_json::json!({"groups": ["a", "b", 3], "role": "admins"}));
        assert_eq!(groups(&token, "groups"), ["a", "b"]);
        assert_eq!(groups(&token, "role"), ["admins"]);
        assert!(groups(&token, "missing").is_empty());
        assert!(groups("garbage", "groups").is_empty());
    }
}
