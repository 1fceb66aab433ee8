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

/// Where an account's identity lives besides a local password: the
/// company's directory (LDAP) or identity provider (OpenID Connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityProvider {
    Ldap,
    Oidc,
}

impl IdentityProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityProvider::Ldap => "ldap",
            IdentityProvider::Oidc => "oidc",
        }
    }

    pub fn parse(text: &str) -> Option<IdentityProvider> {
        match text {
            "ldap" => Some(IdentityProvider::Ldap),
            "oidc" => Some(IdentityProvider::Oidc),
            _ => None,
        }
    }
}

/// A way an account can sign in: its local password, or an identity at
/// the directory or the identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignInMethod {
    Password,
    Ldap,
    Oidc,
}

impl From<IdentityProvider> for SignInMethod {
    fn from(p: IdentityProvider) -> Self {
        match p {
            IdentityProvider::Ldap => SignInMethod::Ldap,
            IdentityProvider::Oidc => SignInMethod::Oidc,
        }
    }
}

/// `ACTIVE` (not deleted) | `DELETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UserStatus {
    Active,
    Deleted,
}
