//! Sign-in with the company's OpenID Provider: `GET /auth/oidc/login` sends
//! the browser to the provider, `GET /auth/oidc/callback` takes it back.
//! Both answer with a redirect, never an error page: a session goes to the
//! web UI's `/login/sso#uid=…&token=…` (a fragment: never sent to a server
//! or logged by a proxy; the UI stores it as after a password login and
//! removes it from the history), a failure to `/login?sso_error=<code>`.
//! The login sets a cookie with the state (HttpOnly, SameSite=Lax, path
//! `/api/auth/oidc`, ten minutes); the callback needs it, so a callback link
//! passed to someone else's browser signs nobody in (login CSRF).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::client::ClientIp;
use crate::service::oidc::{self, Callback, SsoError};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(oidc_login))
        .routes(routes!(oidc_callback))
}

/// The browser's copy of the state, for the callback only.
const STATE_COOKIE: &str = "afisha_oidc_state";

/// `Secure` when the public URL is https; `SameSite=Lax` so the cookie comes
/// back with the provider's top-level redirect; ten minutes, as the sign-in.
fn state_cookie(state: &AppState, value: &str, max_age: u32) -> String {
    let secure = if state.config.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{STATE_COOKIE}={value}; Path=/api/auth/oidc; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    )
}

fn browser_state(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == STATE_COOKIE)
        .map(|(_, value)| value.to_string())
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
async fn oidc_login(State(state): State<AppState>) -> Response {
    match oidc::start(&state.svc).await {
        Ok(started) => (
            [(
                header::SET_COOKIE,
                state_cookie(&state, &started.state, 600),
            )],
            Redirect::to(&started.url),
        )
            .into_response(),
        Err(error) => to_sign_in_page(error).into_response(),
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
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let callback = match query {
        Ok(Query(q)) => Callback {
            browser_state: browser_state(&headers),
            code: q.code,
            state: q.state,
            error: q.error,
            error_description: q.error_description,
        },
        Err(_) => Callback {
            browser_state: browser_state(&headers),
            ..Callback::default()
        },
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let target = match oidc::finish(&state.svc, callback, user_agent, client).await {
        Ok(session) => Redirect::to(&format!(
            "/login/sso#uid={}&token={}",
            session.uid, session.token
        )),
        Err(error) => to_sign_in_page(error),
    };
    // The state cookie has served (or failed): dropped either way.
    ([(header::SET_COOKIE, state_cookie(&state, "", 0))], target).into_response()
}
