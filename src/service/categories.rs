//! Event categories: everyone signed in reads them, administrators manage
//! them.

use crate::domain::category::{CATEGORY_NOT_FOUND, Category, name_key, normal_color};
use crate::domain::error::{DomainError, DomainResult};
use crate::service::Services;

/// Every category, by name (case-insensitively).
pub async fn list(svc: &Services) -> DomainResult<Vec<Category>> {
    svc.store.read(|tx| tx.categories()).await
}

/// Creates a category; a name another category has (in any case) is
/// refused.
pub async fn create(svc: &Services, name: String, color: String) -> DomainResult<Category> {
    let svc = svc.clone();
    let store = svc.store.clone();
    store
        .write(move |tx| {
            let name = name.trim().to_string();
            let color = normal_color(&color);
            let id = tx.insert_category(&name, &name_key(&name), &color, svc.now())?;
            Ok(Category { id, name, color })
        })
        .await
}

/// Renames or recolours a category (`None` keeps the field).
pub async fn update(
    svc: &Services,
    id: i64,
    name: Option<String>,
    color: Option<String>,
) -> DomainResult<Category> {
    svc.store
        .write(move |tx| {
            let mut category = tx
                .category(id)?
                .ok_or_else(|| DomainError::not_found(CATEGORY_NOT_FOUND))?;
            if let Some(name) = name {
                category.name = name.trim().to_string();
            }
            if let Some(color) = color {
                category.color = normal_color(&color);
            }
            tx.save_category(&category, &name_key(&category.name))?;
            Ok(category)
        })
        .await
}

/// Deletes a category; its events stay, without a category.
pub async fn delete(svc: &Services, id: i64) -> DomainResult<()> {
    svc.store
        .write(move |tx| {
            if tx.delete_category(id)? {
                Ok(())
            } else {
                Err(DomainError::not_found(CATEGORY_NOT_FOUND))
            }
        })
        .await
}
