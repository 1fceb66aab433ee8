//! The OpenAPI 3.1 document: built from the handlers' `#[utoipa::path]`
//! annotations as routes are registered, so a route cannot be served without
//! being documented.

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

use crate::error::{ErrorBody, FieldError, LocPart, ValidationErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Afisha API",
        description = "Corporate event board. Authenticate with the two headers returned by `POST /api/login`. Errors are `{\"detail\": \"…\"}`; validation errors are 422 with `{\"detail\": [{\"loc\", \"msg\", \"type\"}]}`."
    ),
    components(schemas(ErrorBody, ValidationErrorBody, FieldError, LocPart)),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_uid",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Login-Session-Uid"))),
        );
        components.add_security_scheme(
            "session_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Login-Session-Token"))),
        );
    }
}

/// Adds the `/api` prefix to every path and merges the shared components.
pub fn finish(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut base = ApiDoc::openapi();
    base.info.version = env!("CARGO_PKG_VERSION").to_string();
    let mut doc = base.merge_from(doc);
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (format!("/api{path}"), item))
        .collect();
    doc
}

/// `security` for routes that need a session.
#[macro_export]
macro_rules! session_security {
    () => {
        [("session_uid" = [], "session_token" = [])]
    };
}
