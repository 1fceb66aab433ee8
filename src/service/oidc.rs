//! Sign-in with the company's OpenID Provider (`auth.oidc`): `start` sends
//! the browser to the provider, `finish` takes it back, checks everything
//! and opens an ordinary session through `external::sign_in` (provisioning,
//! linking by subject, administrators' group).
//!
//! The state, nonce and PKCE verifier of a sign-in in flight are kept in the
//! database (the state as a digest) for ten minutes, so any instance can take
//! the callback, and taken once, so a replayed state is refused. Every
//! failure is one of [`SsoError`]'s codes (the sign-in page shows it) and one
//! log line naming the cause; none opens a session.

use chrono::Duration;

use crate::directory::DirectoryUser;
use crate::domain::error::DomainError;
use crate::domain::time::Ts;
use crate::domain::user::IdentityProvider;
use crate::oidc::ProviderError;
use crate::secrets::token_digest;
use crate::service::session::NewSession;
use crate::service::{Services, external};
use crate::store::accounts::OidcLogin;

/// How long a sign-in may stay at the provider.
const LOGIN_TTL_MINUTES: i64 = 10;

/// Why an OpenID Connect sign-in ended without a session; `code` is what
/// the sign-in page receives (`/login?sso_error=<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoError {
    NotConfigured,
    ProviderUnavailable,
    ProviderRefused,
    InvalidToken,
    /// Unknown, expired or already used `state`.
    InvalidState,
    /// The provider sent the person back with an error (they cancelled, or
    /// the provider refused them).
    Denied,
    EmailUnverified,
    DomainNotAllowed,
    /// The account is deleted, or linked to another identity.
    AccountUnavailable,
    /// The database failed.
    Internal,
}

impl SsoError {
    pub fn code(self) -> &'static str {
        match self {
            SsoError::NotConfigured => "not_configured",
            SsoError::ProviderUnavailable => "provider_unavailable",
            SsoError::ProviderRefused => "provider_refused",
            SsoError::InvalidToken => "invalid_token",
            SsoError::InvalidState => "invalid_state",
            SsoError::Denied => "denied",
            SsoError::EmailUnverified => "email_unverified",
            SsoError::DomainNotAllowed => "domain_not_allowed",
            SsoError::AccountUnavailable => "account_unavailable",
            SsoError::Internal => "internal",
        }
    }
}

/// What the provider put on the callback URL.
#[derive(Debug, Clone, Default)]
pub struct Callback {
    /// The state the browser kept when the sign-in started (its cookie).
    pub browser_state: Option<String>,
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

fn fail(code: SsoError, cause: impl std::fmt::Display) -> SsoError {
    tracing::warn!(code = code.code(), %cause, "OpenID Connect sign-in failed");
    code
}

fn from_provider(e: ProviderError) -> SsoError {
    let code = match &e {
        ProviderError::Unavailable(_) => SsoError::ProviderUnavailable,
        ProviderError::Refused(_) => SsoError::ProviderRefused,
        ProviderError::InvalidToken(_) => SsoError::InvalidToken,
    };
    fail(code, e)
}

fn from_store(e: DomainError) -> SsoError {
    match e {
        DomainError::Unauthenticated(_) | DomainError::Forbidden(_) => {
            fail(SsoError::AccountUnavailable, e)
        }
        other => fail(SsoError::Internal, other),
    }
}

/// Whether `email`'s domain is one of `allowed` (case-insensitive); an
/// empty list allows any.
pub fn domain_allowed(email: &str, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some((_, domain)) = email.rsplit_once('@') else {
        return false;
    };
    allowed
        .iter()
        .any(|d| d.trim_start_matches('@').eq_ignore_ascii_case(domain))
}

/// A sign-in sent to the provider: where the browser goes, and the state
/// the browser must also keep (the route puts it in a cookie) so that the
/// callback is taken only from the browser that started the sign-in.
#[derive(Debug, Clone)]
pub struct Started {
    pub url: String,
    pub state: String,
}

/// Starts a sign-in: remembers its secrets and returns the provider's URL.
pub async fn start(svc: &Services) -> Result<Started, SsoError> {
    let Some(provider) = &svc.oidc else {
        return Err(fail(SsoError::NotConfigured, "auth.oidc.issuer is not set"));
    };
    let auth = provider.authorize().await.map_err(from_provider)?;
    let state = auth.state.clone();
    let now = svc.now();
    let login = OidcLogin {
        state_hash: token_digest(&auth.state),
        nonce: auth.nonce,
        pkce_verifier: auth.pkce_verifier,
        created_at: now,
    };
    svc.store
        .write(move |tx| {
            tx.delete_oidc_logins_before(Ts(now.0 - Duration::minutes(LOGIN_TTL_MINUTES)))?;
            tx.insert_oidc_login(&login)
        })
        .await
        .map_err(from_store)?;
    Ok(Started {
        url: auth.url,
        state,
    })
}

/// Completes a sign-in from the provider's callback.
pub async fn finish(
    svc: &Services,
    callback: Callback,
    user_agent: Option<String>,
    client: Option<std::net::IpAddr>,
) -> Result<NewSession, SsoError> {
    let Some(provider) = &svc.oidc else {
        return Err(fail(SsoError::NotConfigured, "auth.oidc.issuer is not set"));
    };
    // The state is taken first, whatever else the callback says: it is
    // single-use even when the provider reports an error.
    let Some(state) = callback.state.filter(|s| !s.is_empty()) else {
        return Err(fail(SsoError::InvalidState, "callback without a state"));
    };
    // A callback link made by someone else (login CSRF: signing the victim
    // in as the attacker) comes without this browser's copy of the state.
    let same_browser = callback
        .browser_state
        .as_deref()
        .is_some_and(|kept| token_digest(kept) == token_digest(&state));
    if !same_browser {
        return Err(fail(
            SsoError::InvalidState,
            "the state is not the one this browser started (no or another sign-in cookie)",
        ));
    }
    let state_hash = token_digest(&state);
    let login = svc
        .store
        .write(move |tx| tx.take_oidc_login(&state_hash))
        .await
        .map_err(from_store)?;
    let Some(login) = login else {
        return Err(fail(
            SsoError::InvalidState,
            "unknown or already used state (a replayed or forged callback)",
        ));
    };
    if login.created_at.0 + Duration::minutes(LOGIN_TTL_MINUTES) < svc.now().0 {
        return Err(fail(
            SsoError::InvalidState,
            "the sign-in expired at the provider",
        ));
    }
    if let Some(error) = callback.error {
        let description = callback.error_description.unwrap_or_default();
        return Err(fail(
            SsoError::Denied,
            format!("the provider answered {error}: {description}"),
        ));
    }
    let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
        return Err(fail(SsoError::ProviderRefused, "callback without a code"));
    };
    let identity = provider
        .identify(code, login.nonce, login.pkce_verifier)
        .await
        .map_err(from_provider)?;
    let Some(email) = identity.email.filter(|e| e.contains('@')) else {
        return Err(fail(
            SsoError::EmailUnverified,
            format!("no email claim for {}", identity.subject),
        ));
    };
    let config = &svc.config.auth.oidc;
    if !identity.email_verified && config.require_verified_email {
        return Err(fail(
            SsoError::EmailUnverified,
            format!("email {email} of {} is not verified", identity.subject),
        ));
    }
    if !domain_allowed(&email, &config.allowed_domains) {
        return Err(fail(
            SsoError::DomainNotAllowed,
            format!("email {email} is outside auth.oidc.allowed_domains"),
        ));
    }
    let admin = config
        .admin_group
        .as_ref()
        .map(|group| identity.groups.iter().any(|g| g == group));
    let full_name = identity
        .full_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
    let who = DirectoryUser {
        subject: identity.subject,
        email,
        full_name,
        admin,
    };
    external::sign_in(svc, IdentityProvider::Oidc, who, user_agent, client)
        .await
        .map_err(from_store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_match_whole_and_case_insensitively() {
        let allowed = vec!["corp.example".to_string()];
        assert!(domain_allowed("a@corp.example", &allowed));
        assert!(domain_allowed("a@CORP.example", &allowed));
        assert!(!domain_allowed("a@evilcorp.example", &allowed));
        assert!(!domain_allowed("a@corp.example.org", &allowed));
        assert!(domain_allowed("a@anything", &[]));
    }
}
