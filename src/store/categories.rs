//! Queries of event categories.

use crate::domain::category::Category;
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;

pub trait CategoryStore {
    /// Every category, by name key then id.
    fn categories(&mut self) -> DomainResult<Vec<Category>>;
    fn category(&mut self, id: i64) -> DomainResult<Option<Category>>;
    /// Inserts a category; another with the same `name_key` answers
    /// `Rule(CATEGORY_EXISTS)`.
    fn insert_category(
        &mut self,
        name: &str,
        name_key: &str,
        color: &str,
        now: Ts,
    ) -> DomainResult<i64>;
    /// Saves name and colour (by id); the same `name_key` as another
    /// category answers `Rule(CATEGORY_EXISTS)`.
    fn save_category(&mut self, category: &Category, name_key: &str) -> DomainResult<()>;
    /// Deletes a category (events keep existing without one); whether it
    /// existed.
    fn delete_category(&mut self, id: i64) -> DomainResult<bool>;
}
