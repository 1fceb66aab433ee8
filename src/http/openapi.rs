//! The OpenAPI 3.1 document: built from the handlers' `#[utoipa::path]`
//! annotations as routes are registered, so a route cannot be served without
//! being documented.

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

use crate::http::error::{ErrorBody, FieldErrorSchema, LocPart, ValidationErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Afisha API",
        description = "Corporate event board. Authenticate with the two headers returned by `POST /api/login`. Errors are `{\"detail\": \"…\"}`; validation errors are 422 with `{\"detail\": [{\"loc\", \"msg\", \"type\"}]}`."
    ),
    components(schemas(ErrorBody, ValidationErrorBody, FieldErrorSchema, LocPart)),
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
        .map(|(path, mut item)| {
            document_media_type(&mut item);
            (format!("/api{path}"), item)
        })
        .collect();
    doc
}

/// Every operation with a JSON body answers 415 to another Content-Type.
fn document_media_type(item: &mut utoipa::openapi::PathItem) {
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
    for op in [
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
    {
        let json_body = op
            .request_body
            .as_ref()
            .is_some_and(|b| b.content.contains_key("application/json"));
        if json_body {
            op.responses
                .responses
                .entry("415".to_string())
                .or_insert_with(|| {
                    RefOr::T(
                        ResponseBuilder::new()
                            .description("Content-Type must be application/json")
                            .content(
                                "application/json",
                                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                            )
                            .build(),
                    )
                });
        }
    }
}

/// `security` for routes that need a session.
#[macro_export]
macro_rules! session_security {
    () => {
        [("session_uid" = [], "session_token" = [])]
    };
}

/// `Ts` on the wire: an RFC 3339 string.
impl utoipa::PartialSchema for crate::domain::time::Ts {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .examples([serde_json::json!("2026-05-01T10:00:00.123456Z")])
            .into()
    }
}

impl utoipa::ToSchema for crate::domain::time::Ts {}

/// Documents a domain enum as the upper-case strings it serialises to.
macro_rules! enum_schema {
    ($ty:ty, [$($name:literal),+ $(,)?]) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($name),+]))
                    .into()
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}

enum_schema!(
    crate::domain::event::EventStatus,
    ["ACTIVE", "PAST", "REJECTED"]
);
// Only in `EventDTO.participants`, which leaves `WAITLISTED` rows out (they
// are its `waitlist`); the waiting-list status is documented on the card's
// and the request's `MyStatus`.
enum_schema!(
    crate::domain::event::ParticipantStatus,
    ["PARTICIPATING", "REJECTED"]
);
enum_schema!(crate::domain::user::Role, ["USER", "ADMINISTRATOR"]);
enum_schema!(crate::domain::user::UserStatus, ["ACTIVE", "DELETED"]);
enum_schema!(
    crate::domain::audit::Action,
    [
        "user.role_changed",
        "user.updated",
        "user.restored",
        "user.deleted",
        "user.password_reset",
        "event.created",
        "event.updated",
        "event.cancelled",
        "event.restored",
        "category.created",
        "category.updated",
        "category.deleted",
        "email.retried",
        "email.retried_all",
        "email.test_sent",
        "debug.examples_deleted",
        "login.throttled",
        "password.changed",
        "password.recovered",
        "session.revoked",
        "setup.completed",
        "identity.linked",
        "account.deleted",
        "checkin.recorded",
        "checkin.undone",
    ]
);
enum_schema!(
    crate::domain::audit::TargetType,
    ["user", "event", "category", "email", "session", "system"]
);
enum_schema!(
    crate::domain::user::SignInMethod,
    ["password", "ldap", "oidc"]
);
