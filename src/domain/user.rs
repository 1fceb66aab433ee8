//! Users and what they may do.

use serde::{Deserialize, Serialize};

/// `USER` | `ADMINISTRATOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    User,
    Administrator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "USER",
            Role::Administrator => "ADMINISTRATOR",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "USER" => Some(Role::User),
            "ADMINISTRATOR" => Some(Role::Administrator),
            _ => None,
        }
    }

    /// The one admin predicate.
    pub fn is_admin(self) -> bool {
        self == Role::Administrator
    }
}

/// `ACTIVE` (not deleted) | `DELETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UserStatus {
    Active,
    Deleted,
}
