//! Event categories: everyone signed in reads them, administrators manage
//! them.

use crate::domain::category::{CATEGORY_NOT_FOUND, Category, name_key, normal_color};
use crate::domain::error::{DomainError, DomainResult};
use crate::service::Services;
use crate::service::audit::{self, Action, Actor, Changes, Target};

/// A category as the audit log compares it.
fn audited(c: &Category) -> serde_json::Value {
    serde_json::json!({ "name": c.name, "color": c.color })
}

/// Every category, by name (case-insensitively).
pub async fn list(svc: &Services) -> DomainResult<Vec<Category>> {
    svc.store.read(|tx| tx.categories()).await
}

/// Creates a category; a name another category has (in any case) is
/// refused.
pub async fn create(
    svc: &Services,
    actor: &Actor,
    name: String,
    color: String,
) -> DomainResult<Category> {
    let (svc, actor) = (svc.clone(), actor.clone());
    let store = svc.store.clone();
    store
        .write(move |tx| {
            let name = name.trim().to_string();
            let color = normal_color(&color);
            let id = tx.insert_category(&name, &name_key(&name), &color, svc.now())?;
            let category = Category { id, name, color };
            let changes = Changes::diff(&serde_json::json!({}), &audited(&category));
            let target = Target::category(id);
            audit::record(&svc, tx, &actor, Action::CategoryCreated, target, changes)?;
            Ok(category)
        })
        .await
}

/// Renames or recolours a category (`None` keeps the field).
pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: i64,
    name: Option<String>,
    color: Option<String>,
) -> DomainResult<Category> {
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let mut category = tx
                .category(id)?
                .ok_or_else(|| DomainError::not_found(CATEGORY_NOT_FOUND))?;
            let before = audited(&category);
            if let Some(name) = name {
                category.name = name.trim().to_string();
            }
            if let Some(color) = color {
                category.color = normal_color(&color);
            }
            tx.save_category(&category, &name_key(&category.name))?;
            let changes = Changes::diff(&before, &audited(&category));
            let target = Target::category(id);
            audit::record(&svc, tx, &actor, Action::CategoryUpdated, target, changes)?;
            Ok(category)
        })
        .await
}

/// Deletes a category; its events stay, without a category.
pub async fn delete(svc: &Services, actor: &Actor, id: i64) -> DomainResult<()> {
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let category = tx
                .category(id)?
                .ok_or_else(|| DomainError::not_found(CATEGORY_NOT_FOUND))?;
            if !tx.delete_category(id)? {
                return Err(DomainError::not_found(CATEGORY_NOT_FOUND));
            }
            let changes = Changes::diff(&audited(&category), &serde_json::json!({}));
            let target = Target::category(id);
            audit::record(&svc, tx, &actor, Action::CategoryDeleted, target, changes)
        })
        .await
}
