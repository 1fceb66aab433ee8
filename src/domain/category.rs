//! Event categories: a name unique case-insensitively in any script and a
//! colour.

use serde::Serialize;

use crate::domain::account::fold;

/// Longest category name, in characters.
pub const NAME_MAX: usize = 100;

/// Answer of a create or rename to a name another category has.
pub use crate::domain::error::messages::{CATEGORY_EXISTS, CATEGORY_NOT_FOUND};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}

/// What makes two names the same: Unicode lower case (SQLite's `lower()`
/// folds ASCII only, so this is done here for both backends).
pub fn name_key(name: &str) -> String {
    fold(name.trim())
}

/// Whether `color` is `#` and six hex digits.
pub fn is_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The stored spelling of a colour: lower case.
pub fn normal_color(color: &str) -> String {
    color.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_cyrillic() {
        assert_eq!(name_key(" Лекции "), name_key("ЛЕКЦИИ"));
        assert_ne!(name_key("Лекции"), name_key("Лекция"));
    }

    #[test]
    fn colours() {
        assert!(is_color("#A0b1C2"));
        assert!(!is_color("A0b1C2"));
        assert!(!is_color("#abc"));
        assert!(!is_color("#ggggggg"));
    }
}
