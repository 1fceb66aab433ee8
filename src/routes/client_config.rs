//! `GET /api/config`: what the web UI (or another client) must know before
//! anyone signs in — the brand, the password rule, which ways of signing in
//! are open.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ClientConfig {
    brand_name: String,
    /// `auth.min_password_length`.
    min_password_length: usize,
    /// Languages of the interface and of emails.
    #[schema(example = json!(["ru", "en"]))]
    locales: Vec<&'static str>,
    /// Sign-in with a password typed into Afisha (`POST /login`): local
    /// passwords, or the directory's when `ldap` is true.
    password_login: bool,
    /// Registration and password recovery (closed with password sign-in,
    /// `auth.password_login = false`).
    registration: bool,
    /// `POST /login` checks the password against the company directory.
    ldap: bool,
    /// Sign-in with the company's identity provider (`auth.oidc`); absent
    /// when it is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    sso: Option<Sso>,
}

#[derive(Serialize, ToSchema)]
pub struct Sso {
    /// `auth.oidc.display_name`: the button says "Sign in with <name>".
    name: String,
    /// Where the browser goes to start (a navigation, not an API call).
    #[schema(example = "/api/auth/oidc/login")]
    login_url: String,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(client_config))
}

/// What a client needs to know before sign-in (public).
#[utoipa::path(get, path = "/config", tag = "service",
    responses((status = 200, body = ClientConfig)))]
async fn client_config(State(state): State<AppState>) -> Json<ClientConfig> {
    let c = &state.config;
    let ldap = c.auth.ldap.url.is_some();
    Json(ClientConfig {
        brand_name: c.ui.brand_name.clone(),
        min_password_length: c.auth.min_password_length,
        locales: vec!["ru", "en"],
        password_login: c.auth.password_login || ldap,
        registration: c.auth.password_login,
        ldap,
        sso: c.auth.oidc.issuer.as_ref().map(|_| Sso {
            name: c.auth.oidc.display_name.clone(),
            login_url: "/api/auth/oidc/login".into(),
        }),
    })
}
