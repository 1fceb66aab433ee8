//! Event categories: `GET /categories` for everyone signed in; `POST`,
//! `PUT` and `DELETE` for administrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{AuditedAdmin, CurrentUser};
use crate::domain::category::{Category, NAME_MAX, is_color};
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Path};
use crate::service::categories;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(update_category, delete_category))
}

/// `CategoryDTO`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryDto {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`, lower case.
    pub color: String,
}

impl From<Category> for CategoryDto {
    fn from(c: Category) -> Self {
        CategoryDto {
            id: c.id,
            name: c.name,
            color: c.color,
        }
    }
}

/// Body of `POST /categories`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CategoryCreate {
    /// 1–100 characters after trimming; unique in any case and script.
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}

/// Body of `PUT /categories/{category_id}`: absent fields are kept.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CategoryUpdate {
    pub name: Option<String>,
    pub color: Option<String>,
}

fn check_color(c: &mut Checks, color: &str) {
    if !is_color(color) {
        let error = c.error("color", "Colour must be #rrggbb", "value_error");
        c.add(error.with_code("invalid_color"));
    }
}

impl Input for CategoryCreate {
    fn check(&mut self, c: &mut Checks) {
        c.text("name", &mut self.name, 1, NAME_MAX);
        check_color(c, &self.color);
    }
}

impl Input for CategoryUpdate {
    fn check(&mut self, c: &mut Checks) {
        if let Some(name) = &mut self.name {
            c.text("name", name, 1, NAME_MAX);
        }
        if let Some(color) = &self.color {
            check_color(c, color);
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CategoryPath {
    pub category_id: i64,
}

/// Every category, by name.
#[utoipa::path(get, path = "/categories", tag = "categories",
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 200, body = Vec<CategoryDto>),
        (status = 401, body = ErrorBody),
    ))]
async fn list_categories(
    CurrentUser(_me): CurrentUser,
    State(state): State<AppState>,
) -> AppResult<Json<Vec<CategoryDto>>> {
    let list = categories::list(&state.svc).await?;
    Ok(Json(list.into_iter().map(CategoryDto::from).collect()))
}

/// Create a category.
#[utoipa::path(post, path = "/categories", tag = "categories",
    security(("session_uid" = [], "session_token" = [])),
    request_body = CategoryCreate,
    responses(
        (status = 201, body = CategoryDto),
        (status = 400, body = ErrorBody, description = "Category already exists"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn create_category(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Body(body): Body<CategoryCreate>,
) -> AppResult<(StatusCode, Json<CategoryDto>)> {
    let category = categories::create(&state.svc, &actor, body.name, body.color).await?;
    Ok((StatusCode::CREATED, Json(category.into())))
}

/// Rename or recolour a category.
#[utoipa::path(put, path = "/categories/{category_id}", tag = "categories",
    security(("session_uid" = [], "session_token" = [])),
    params(CategoryPath),
    request_body = CategoryUpdate,
    responses(
        (status = 200, body = CategoryDto),
        (status = 400, body = ErrorBody, description = "Category already exists"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Category not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn update_category(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Path(CategoryPath { category_id }): Path<CategoryPath>,
    Body(body): Body<CategoryUpdate>,
) -> AppResult<Json<CategoryDto>> {
    let category =
        categories::update(&state.svc, &actor, category_id, body.name, body.color).await?;
    Ok(Json(category.into()))
}

/// Delete a category; its events stay, without a category.
#[utoipa::path(delete, path = "/categories/{category_id}", tag = "categories",
    security(("session_uid" = [], "session_token" = [])),
    params(CategoryPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Category not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn delete_category(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Path(CategoryPath { category_id }): Path<CategoryPath>,
) -> AppResult<StatusCode> {
    categories::delete(&state.svc, &actor, category_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
