//! Sign-in through the company's directory (LDAP) or identity provider:
//! the account is found by the identity it is linked to; the first time,
//! an account with the same email is linked, or a new one is provisioned.
//! The administrators' group, when configured, sets the role at every
//! sign-in, within the last-administrator rule.

use crate::directory::DirectoryUser;
use crate::domain::account::messages as m;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::user::{IdentityProvider, Role};
use crate::service::audit::{self, Action, Actor, Changes, Target};
use crate::service::session::{NewSession, insert_session};
use crate::service::{Services, users};
use crate::store::Tx;
use crate::store::accounts::NewUser;

/// Opens a session for the person the directory vouched for.
pub async fn sign_in(
    svc: &Services,
    provider: IdentityProvider,
    who: DirectoryUser,
    user_agent: Option<String>,
    client: Option<std::net::IpAddr>,
) -> DomainResult<NewSession> {
    let now = svc.now();
    let svc = svc.clone();
    svc.store
        .clone()
        .write(move |tx| {
            let (id, linked) = account_for(&svc, tx, provider, &who, now)?;
            if linked {
                // A security event: from now on the provider vouches for
                // this account.
                let actor = Actor::user(id, &who.email, client);
                let changes = Changes::none()
                    .with("identity_provider", None::<String>, provider.as_str())
                    .with("identity_subject", None::<String>, &who.subject);
                audit::record(
                    &svc,
                    tx,
                    &actor,
                    Action::IdentityLinked,
                    Target::user(id),
                    changes,
                )?;
            }
            if let Some(admin) = who.admin {
                sync_role(&svc, tx, provider, id, admin)?;
            }
            insert_session(tx, id, user_agent.as_deref(), now)
        })
        .await
}

/// The account the identity belongs to, and whether it was linked (or
/// provisioned) just now.
fn account_for(
    svc: &Services,
    tx: &mut dyn Tx,
    provider: IdentityProvider,
    who: &DirectoryUser,
    now: crate::domain::time::Ts,
) -> DomainResult<(i64, bool)> {
    let deleted = || DomainError::Unauthenticated(m::INVALID_CREDENTIALS.into());
    if let Some(user) = tx.user_by_identity(provider, &who.subject)? {
        return match user.deleted_at {
            Some(_) => Err(deleted()),
            None => Ok((user.id, false)),
        };
    }
    if let Some(user) = tx.user_by_email(&who.email)? {
        if user.identity_provider.is_some() {
            return Err(DomainError::Forbidden(m::LINKED_ELSEWHERE.into()));
        }
        if user.deleted_at.is_some() {
            return Err(deleted());
        }
        tx.link_identity(user.id, provider, &who.subject)?;
        tracing::info!(
            user_id = user.id,
            provider = provider.as_str(),
            "account linked to its directory entry"
        );
        return Ok((user.id, true));
    }
    let id = tx.insert_user(&NewUser {
        email: &who.email,
        full_name: &who.full_name,
        password_hash: "",
        role: Role::User,
        now,
    })?;
    tx.link_identity(id, provider, &who.subject)?;
    crate::service::webhooks::emit_user_created(svc, tx, now, id)?;
    tracing::info!(
        user_id = id,
        provider = provider.as_str(),
        "account provisioned from the directory"
    );
    Ok((id, true))
}

/// Makes the role follow the administrators' group. A demotion that would
/// leave no administrator is skipped (and logged), as everywhere else.
fn sync_role(
    svc: &Services,
    tx: &mut dyn Tx,
    provider: IdentityProvider,
    id: i64,
    admin: bool,
) -> DomainResult<()> {
    let Some(user) = tx.user(id)? else {
        return Ok(());
    };
    if user.role.is_admin() == admin {
        return Ok(());
    }
    if !admin {
        if let Err(refused) = users::keep_an_administrator(tx, &user) {
            tracing::warn!(user_id = id, %refused, "left out of the administrators' group, but kept as the last administrator");
            return Ok(());
        }
        tx.set_user_role(id, Role::User)?;
    } else {
        tx.set_user_role(id, Role::Administrator)?;
    }
    let new = if admin {
        Role::Administrator
    } else {
        Role::User
    };
    let changes = Changes::none().with("role", user.role, new);
    let actor = Actor::tool(provider.as_str());
    audit::record(
        svc,
        tx,
        &actor,
        Action::UserRoleChanged,
        Target::user(id),
        changes,
    )?;
    tracing::info!(
        user_id = id,
        admin,
        "role set from the directory's administrators' group"
    );
    Ok(())
}
