//! Sign-in with the company's OpenID Provider: `GET /auth/oidc/login` sends
//! the browser to the provider, `GET /auth/oidc/callback` takes it back.
//! Both answer with a redirect, never an error page: a session goes to the
//! web UI's `/login/sso#uid=…&token=…` (a fragment: never sent to a server
//! or logged by a proxy; the UI stores it as after a password login and
//! removes it from the history), a failure to `/login?sso_error=<code>`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Redirect;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::service::oidc::{self, Callback, SsoError};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(oidc_login))
        .routes(routes!(oidc_callback))
}

fn to_sign_in_page(error: SsoError) -> Redirect {
    Redirect::to(&format!("/login?sso_error={}", error.code()))
}

/// Starts a sign-in with the identity provider (public; a browser
/// navigation, not an API call).
#[utoipa::path(get, path = "/auth/oidc/login", tag = "access",
    responses(
        (status = 303, description = "To the provider's authorization endpoint; on failure to `/login?sso_error=<code>` (`not_configured`, `provider_unavailable`)"),
    ))]
async fn oidc_login(State(state): State<AppState>) -> Redirect {
    match oidc::start(&state.svc).await {
        Ok(url) => Redirect::to(&url),
        Err(error) => to_sign_in_page(error),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Where the provider sends the browser back
/// (`<public_url>/api/auth/oidc/callback?code=…&state=…`, or
/// `?error=…&error_description=…&state=…`). Every answer is a redirect,
/// a malformed query included (it ends as `invalid_state`), so no 4xx is
/// listed and the query is described here rather than as parameters.
#[utoipa::path(get, path = "/auth/oidc/callback", tag = "access",
    responses(
        (status = 303, description = "To `/login/sso#uid=<session uid>&token=<session token>`, or to `/login?sso_error=<code>`: `provider_unavailable`, `provider_refused`, `invalid_token`, `invalid_state`, `denied`, `email_unverified`, `domain_not_allowed`, `account_unavailable`, `internal`"),
    ))]
async fn oidc_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Redirect {
    let callback = match query {
        Ok(Query(q)) => Callback {
            code: q.code,
            state: q.state,
            error: q.error,
            error_description: q.error_description,
        },
        Err(_) => Callback::default(),
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    match oidc::finish(&state.svc, callback, user_agent).await {
        Ok(session) => Redirect::to(&format!(
            "/login/sso#uid={}&token={}",
            session.uid, session.token
        )),
        Err(error) => to_sign_in_page(error),
    }
}
