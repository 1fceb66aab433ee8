//! Request extractors for JSON bodies, query strings and path parameters.
//!
//! Each one turns every rejection into the contract's 422 shape
//! (`{"detail": [{"loc", "msg", "type"}]}`), then runs the input's own
//! [`Input::check`] so semantic rules (email syntax, lengths, ranges) are
//! reported in the same format, all problems at once.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::http::error::{AppError, FieldError};
use crate::state::AppState;

/// Semantic checks after deserialisation. The default accepts everything.
pub trait Input: DeserializeOwned + Send {
    fn check(&mut self, _c: &mut Checks) {}
}

/// Collects validation problems for one request part.
pub struct Checks<'a> {
    part: &'static str,
    pub config: &'a Config,
    errors: Vec<FieldError>,
}

impl<'a> Checks<'a> {
    pub fn new(part: &'static str, config: &'a Config) -> Self {
        Self {
            part,
            config,
            errors: Vec::new(),
        }
    }

    pub fn fail(&mut self, field: &str, msg: impl Into<String>, kind: &str) {
        let error = self.error(field, msg, kind);
        self.add(error);
    }

    /// A problem with `field` of this part, to refine (`with_code`,
    /// `with_limit`) before [`Checks::add`].
    pub fn error(&self, field: &str, msg: impl Into<String>, kind: &str) -> FieldError {
        FieldError::new(&[self.part, field], msg, kind)
    }

    pub fn add(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Trims and validates an email address in place.
    pub fn email(&mut self, field: &str, value: &mut String) {
        *value = value.trim().to_string();
        if let Err(why) = validate_email(value) {
            let msg = format!("value is not a valid email address: {why}");
            let error = self.error(field, msg, "value_error");
            self.add(error.with_code("invalid_email"));
        }
    }

    pub fn password(&mut self, field: &str, value: &str) {
        let min = self.config.auth.min_password_length;
        let len = value.chars().count();
        if len < min {
            self.too_short(
                field,
                format!("String should have at least {min} characters"),
                min,
            );
        } else if len > 1024 {
            self.max_len(field, value, 1024);
        }
    }

    /// Trims `value` and requires `min..=max` characters on one line.
    pub fn text(&mut self, field: &str, value: &mut String, min: usize, max: usize) {
        *value = value.trim().to_string();
        if !self.single_line(field, value) {
            return;
        }
        let len = value.chars().count();
        if len < min {
            let msg = format!("String should have at least {min} character{}", plural(min));
            self.too_short(field, msg, min);
        } else if len > max {
            self.max_len(field, value, max);
        }
    }

    /// Requires one line of at most `max` characters (no trimming).
    pub fn line(&mut self, field: &str, value: &str, max: usize) {
        if self.single_line(field, value) {
            self.max_len(field, value, max);
        }
    }

    /// Rejects control characters (line breaks, tabs, NUL, DEL, C1) and the
    /// Unicode line and paragraph separators: they break mail headers,
    /// exports and logs. Returns whether `value` passed.
    pub fn single_line(&mut self, field: &str, value: &str) -> bool {
        if value.chars().any(is_line_break_or_control) {
            let msg = "String should be a single line without control characters";
            let error = self.error(field, msg, "string_pattern_mismatch");
            self.add(error.with_code("single_line"));
            return false;
        }
        true
    }

    /// Requires at most `max` characters (no trimming).
    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            let msg = format!("String should have at most {max} characters");
            let error = self.error(field, msg, "string_too_long");
            self.add(error.with_limit("max", max as i64));
        }
    }

    fn too_short(&mut self, field: &str, msg: String, min: usize) {
        let error = self.error(field, msg, "string_too_short");
        self.add(error.with_limit("min", min as i64));
    }

    pub fn non_negative(&mut self, field: &str, value: i64) {
        if value < 0 {
            let msg = "Input should be greater than or equal to 0";
            let error = self.error(field, msg, "greater_than_equal");
            self.add(error.with_limit("ge", 0));
        }
    }

    pub fn into_result(self) -> Result<(), AppError> {
        self.finish()
    }

    fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::fields(self.errors))
        }
    }
}

/// Control characters (Unicode Cc) and the line/paragraph separators.
pub fn is_line_break_or_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A pragmatic address check: one `@`, a non-empty local part without
/// spaces, and a dotted domain of letters, digits and hyphens.
pub fn validate_email(email: &str) -> Result<(), &'static str> {
    if email.len() > 254 {
        return Err("the address is too long");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("an email address must have an @-sign");
    };
    if local.is_empty() || local.len() > 64 {
        return Err("the part before the @-sign is empty or too long");
    }
    if local.contains('@')
        || local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "()<>[]\\,;:\"".contains(c))
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return Err("the part before the @-sign is not valid");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
    {
        return Err("the domain name is not valid");
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("the domain name is not valid");
    }
    Ok(())
}

/// Maps a serde error message to a short type name in the contract's style.
fn error_kind(msg: &str) -> &'static str {
    if msg.starts_with("missing field") {
        "missing"
    } else if msg.starts_with("invalid type") {
        "type_error"
    } else if msg.starts_with("unknown variant") {
        "enum"
    } else if msg.starts_with("invalid value") || msg.starts_with("invalid length") {
        "value_error"
    } else if msg.starts_with("invalid datetime") {
        "datetime_parsing"
    } else if msg.contains("invalid digit") || msg.contains("number too large") {
        "int_parsing"
    } else {
        "value_error"
    }
}

/// Builds the 422 entry for a serde error at `path` within `part`.
fn serde_error(part: &str, path: &serde_path_to_error::Path, msg: String) -> FieldError {
    let mut loc = vec![serde_json::Value::from(part)];
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => loc.push((*index).into()),
            serde_path_to_error::Segment::Map { key } => loc.push(key.clone().into()),
            serde_path_to_error::Segment::Enum { variant } => loc.push(variant.clone().into()),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    if let Some(rest) = msg.strip_prefix("missing field `")
        && let Some(name) = rest.strip_suffix('`')
    {
        loc.push(name.into());
        return FieldError::at(loc, "Field required", "missing");
    }
    let kind = error_kind(&msg);
    FieldError::at(loc, msg, kind)
}

/// A JSON body of type `T`, validated.
pub struct Body<T>(pub T);

impl<T: Input> FromRequest<AppState> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers().get(axum::http::header::CONTENT_TYPE));
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match rejection {
                axum::extract::rejection::BytesRejection::FailedToBufferBody(e)
                    if is_too_large(&e) =>
                {
                    AppError::status(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "Request body too large",
                    )
                }
                other => AppError::bad_body(format!("Could not read the request body: {other}")),
            })?;
        // A body in any other type could come from a plain HTML form on
        // another site (a CORS "simple request"); an absent body keeps its
        // 422.
        if !json && !bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AppError::status(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            ));
        }
        parse_body(&bytes, &state.config).map(Body)
    }
}

/// `application/json` or `application/<anything>+json`, with any parameters.
fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

fn is_too_large(e: &axum::extract::rejection::FailedToBufferBody) -> bool {
    matches!(
        e,
        axum::extract::rejection::FailedToBufferBody::LengthLimitError(_)
    )
}

/// Parses and validates a JSON body (also used by tests of inputs).
pub fn parse_body<T: Input>(bytes: &[u8], config: &Config) -> Result<T, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::invalid(&["body"], "Field required", "missing"));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::invalid(&["body"], format!("JSON decode error: {e}"), "json_invalid")
    })?;
    if !value.is_object() {
        return Err(AppError::invalid(
            &["body"],
            "Input should be a valid dictionary or object",
            "model_attributes_type",
        ));
    }
    let mut input: T = deserialize_all(value)?;
    let mut checks = Checks::new("body", config);
    input.check(&mut checks);
    checks.finish()?;
    Ok(input)
}

/// Stand-ins tried in place of a field that failed to deserialise, so the
/// remaining fields are still checked and every problem is reported at once.
fn placeholders() -> [serde_json::Value; 8] {
    use serde_json::json;
    [
        json!(""),
        json!(1),
        json!(true),
        json!([]),
        json!({}),
        json!("2000-01-01T00:00:00Z"),
        json!("00000000-0000-4000-8000-000000000000"),
        serde_json::Value::Null,
    ]
}

fn set_at(
    value: &mut serde_json::Value,
    path: &[serde_json::Value],
    new: serde_json::Value,
) -> bool {
    let Some((first, rest)) = path.split_first() else {
        *value = new;
        return true;
    };
    let slot = match (value, first) {
        (serde_json::Value::Object(map), serde_json::Value::String(key)) => {
            map.entry(key.clone()).or_insert(serde_json::Value::Null)
        }
        (serde_json::Value::Array(items), serde_json::Value::Number(n)) => {
            match n.as_u64().and_then(|i| items.get_mut(i as usize)) {
                Some(item) => item,
                None => return false,
            }
        }
        _ => return false,
    };
    set_at(slot, rest, new)
}

/// Deserialises `value`, collecting one 422 entry per failing field.
fn deserialize_all<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, AppError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut tries: Vec<(Vec<serde_json::Value>, usize)> = Vec::new();
    let candidates = placeholders();
    for _ in 0..64 {
        let err = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(v) if errors.is_empty() => return Ok(v),
            Ok(_) => break,
            Err(e) => e,
        };
        let path = err.path().clone();
        let entry = serde_error("body", &path, err.into_inner().to_string());
        let loc = entry.loc.clone();
        if !errors.iter().any(|e| e.loc == loc) {
            errors.push(entry);
        }
        let attempt = match tries.iter_mut().find(|(l, _)| *l == loc) {
            Some((_, n)) => n,
            None => {
                tries.push((loc.clone(), 0));
                &mut tries.last_mut().expect("just pushed").1
            }
        };
        if loc.len() < 2
            || *attempt >= candidates.len()
            || !set_at(&mut value, &loc[1..], candidates[*attempt].clone())
        {
            break;
        }
        *attempt += 1;
    }
    Err(AppError::fields(errors))
}

/// Deserialises a field that distinguishes "absent" (`None`, with
/// `#[serde(default)]`) from "sent as null" (`Some(None)`).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A query boolean as FastAPI/pydantic accepted it: `true`/`false`,
/// `1`/`0`, `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`, in any case; anything
/// else is a validation error. Use with `#[serde(default, deserialize_with
/// = "query_bool")]`.
pub fn query_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
        _ => Err(serde::de::Error::custom(
            "Input should be a valid boolean, unable to interpret input",
        )),
    }
}

/// A query string of type `T`, validated.
pub struct Query<T>(pub T);

impl<T: Input> FromRequestParts<AppState> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let mut input: T = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().clone();
            AppError::fields(vec![serde_error(
                "query",
                &path,
                e.into_inner().to_string(),
            )])
        })?;
        let mut checks = Checks::new("query", &state.config);
        input.check(&mut checks);
        checks.finish()?;
        Ok(Query(input))
    }
}

/// Path parameters of type `T`.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                // Name the parameter even when the error does not (single
                // values): the first raw parameter of the route.
                let first_param = axum::extract::RawPathParams::from_request_parts(parts, state)
                    .await
                    .ok()
                    .and_then(|raw| raw.iter().next().map(|(k, _)| k.to_string()))
                    .unwrap_or_else(|| "param".to_string());
                let (key, msg, kind) = match e.kind() {
                    ErrorKind::ParseErrorAtKey {
                        key,
                        value,
                        expected_type,
                    } => (
                        key.clone(),
                        format!("Input should be a valid {expected_type}, got '{value}'"),
                        "int_parsing",
                    ),
                    ErrorKind::ParseError {
                        value,
                        expected_type,
                    }
                    | ErrorKind::ParseErrorAtIndex {
                        value,
                        expected_type,
                        ..
                    } => (
                        first_param,
                        format!("Input should be a valid {expected_type}, got '{value}'"),
                        "int_parsing",
                    ),
                    ErrorKind::DeserializeError { key, message, .. } => {
                        (key.clone(), message.clone(), "value_error")
                    }
                    other => (first_param, other.to_string(), "value_error"),
                };
                Err(AppError::fields(vec![FieldError::new(
                    &["path", &key],
                    msg,
                    kind,
                )]))
            }
            Err(other) => Err(AppError::invalid(
                &["path"],
                other.body_text(),
                "value_error",
            )),
        }
    }
}

/// The `limit`/`offset` pair of list routes.
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page size (clamped to the route's range).
    pub limit: Option<i64>,
    /// Items to skip; must not be negative.
    pub offset: Option<i64>,
}

impl Page {
    pub fn check(&self, c: &mut Checks) {
        if let Some(offset) = self.offset {
            c.non_negative("offset", offset);
        }
    }
    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }
    /// `limit` with a default, clamped to `1..=max`.
    pub fn limit_or(&self, default: i64, max: i64) -> i64 {
        self.limit.unwrap_or(default).clamp(1, max)
    }
    /// `limit` where absent means "all" (`None`), clamped to `1..=max`.
    pub fn limit_all(&self, max: i64) -> Option<i64> {
        self.limit.map(|l| l.clamp(1, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Flags {
        #[serde(default, deserialize_with = "query_bool")]
        on: bool,
    }

    #[test]
    fn query_booleans_accept_what_pydantic_accepted() {
        let parse = |q: &str| serde_urlencoded::from_str::<Flags>(q).map(|f| f.on);
        for yes in [
            "true", "True", "TRUE", "1", "yes", "Yes", "on", "t", "T", "y",
        ] {
            assert!(parse(&format!("on={yes}")).unwrap(), "{yes}");
        }
        for no in ["false", "False", "0", "no", "off", "f", "n", "N"] {
            assert!(!parse(&format!("on={no}")).unwrap(), "{no}");
        }
        assert!(!parse("").unwrap(), "absent is the default");
        for bad in ["2", "maybe", "", "truee"] {
            assert!(parse(&format!("on={bad}")).is_err(), "{bad:?}");
        }
    }

    #[derive(serde::Deserialize)]
    struct Sample {
        email: String,
        count: i64,
    }
    impl Input for Sample {
        fn check(&mut self, c: &mut Checks) {
            c.email("email", &mut self.email);
            c.non_negative("count", self.count);
        }
    }

    fn errors(body: &str) -> Vec<FieldError> {
        match parse_body::<Sample>(body.as_bytes(), &Config::default()) {
            Err(AppError::Domain(crate::domain::error::DomainError::Invalid(v))) => v,
            Err(other) => panic!("unexpected {other:?}"),
            Ok(_) => panic!("accepted {body}"),
        }
    }

    #[test]
    fn malformed_json_is_json_invalid() {
        let e = errors("{nope");
        assert_eq!(e[0].loc, vec![serde_json::json!("body")]);
        assert_eq!(e[0].kind, "json_invalid");
    }

    #[test]
    fn missing_field_names_the_field() {
        let e = errors(r#"{"email": "a@b.co"}"#);
        assert_eq!(
            e[0].loc,
            vec![serde_json::json!("body"), serde_json::json!("count")]
        );
        assert_eq!(e[0].kind, "missing");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let e = errors(r#"{"email": "a@b.co", "count": "x"}"#);
        assert_eq!(
            e[0].loc,
            vec![serde_json::json!("body"), serde_json::json!("count")]
        );
    }

    #[test]
    fn all_structural_problems_are_reported() {
        let e = errors("{}");
        let locs: Vec<_> = e.iter().map(|e| e.loc.clone()).collect();
        assert_eq!(locs.len(), 2, "{e:?}");
        assert!(locs.contains(&vec![serde_json::json!("body"), serde_json::json!("email")]));
        assert!(locs.contains(&vec![serde_json::json!("body"), serde_json::json!("count")]));
        let e = errors(r#"{"email": 5, "count": "x"}"#);
        assert_eq!(e.len(), 2, "{e:?}");
    }

    #[test]
    fn all_semantic_problems_are_reported() {
        let e = errors(r#"{"email": "nope", "count": -1}"#);
        assert_eq!(e.len(), 2);
        assert!(e[0].msg.contains("email"));
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@sub.example.com", "иван@пример.рф"] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.co", "a@b..co", "a@-b.co", "a@1.2",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
