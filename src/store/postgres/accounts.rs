//! PostgreSQL queries of the accounts area.

use postgres::Row;
use uuid::Uuid;

use super::PgTx;
use super::types::u32_of;
use crate::domain::account::{email_key, fold};
use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::time::Ts;
use crate::store::AccountStore;
use crate::store::accounts::{
    Credentials, NewRegistration, NewUser, OidcLogin, Recovery, Registration, SessionInfo,
    SessionRecord,
};

const REGISTRATION_COLUMNS: &str = "id, token, email, full_name, password_hash, code_sealed, created_at, used_at IS NOT NULL, failed_attempts";

fn uuid(text: &str) -> DomainResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| DomainError::internal(format!("stored uuid {text:?}: {e}")))
}

fn registration_from_row(r: &Row) -> DomainResult<Registration> {
    Ok(Registration {
        id: r.try_get(0)?,
        token: uuid(r.try_get(1)?)?,
        email: r.try_get(2)?,
        full_name: r.try_get(3)?,
        password_hash: r.try_get(4)?,
        code_sealed: r.try_get(5)?,
        created_at: r.try_get(6)?,
        used: r.try_get(7)?,
        failed_attempts: u32_of(r.try_get(8)?),
    })
}

impl AccountStore for PgTx<'_, '_> {
    fn email_taken(&mut self, email: &str) -> DomainResult<bool> {
        Ok(self
            .opt(
                r#"SELECT 1 FROM "user" WHERE email_key = $1"#,
                &[&email_key(email)],
            )?
            .is_some())
    }

    fn insert_user(&mut self, user: &NewUser) -> DomainResult<i64> {
        let inserted = self.try_rows(
            r#"INSERT INTO "user" (email, email_key, full_name, full_name_fold, password_hash, role, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"#,
            &[
                &user.email.trim(),
                &email_key(user.email),
                &user.full_name,
                &fold(user.full_name),
                &user.password_hash,
                &user.role,
                &user.now,
            ],
        );
        match inserted {
            Ok(rows) => {
                self.changed = true;
                Ok(rows[0].try_get(0)?)
            }
            // The unique email index: a concurrent insert won.
            Err(e) if super::is_unique_violation(&e) => {
                Err(DomainError::rule(messages::EMAIL_EXISTS))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn credentials_by_email(&mut self, email: &str) -> DomainResult<Option<Credentials>> {
        self.opt(
            r#"SELECT id, password_hash, deleted_at IS NOT NULL FROM "user" WHERE email_key = $1"#,
            &[&email_key(email)],
        )?
        .map(|r| {
            Ok(Credentials {
                user_id: r.try_get(0)?,
                password_hash: r.try_get(1)?,
                deleted: r.try_get(2)?,
            })
        })
        .transpose()
    }

    fn password_hash(&mut self, user_id: i64) -> DomainResult<Option<String>> {
        self.opt(
            r#"SELECT password_hash FROM "user" WHERE id = $1"#,
            &[&user_id],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn set_password_hash(&mut self, user_id: i64, hash: &str) -> DomainResult<()> {
        self.change(
            r#"UPDATE "user" SET password_hash = $2 WHERE id = $1"#,
            &[&user_id, &hash],
        )?;
        Ok(())
    }

    fn active_user_by_email(&mut self, email: &str) -> DomainResult<Option<i64>> {
        self.opt(
            r#"SELECT id FROM "user" WHERE email_key = $1 AND deleted_at IS NULL"#,
            &[&email_key(email)],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn insert_registration(&mut self, reg: &NewRegistration) -> DomainResult<()> {
        self.change(
            "INSERT INTO issued_registration
               (token, email, email_key, full_name, password_hash, code_sealed, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &reg.token.to_string(),
                &reg.email,
                &email_key(reg.email),
                &reg.full_name,
                &reg.password_hash,
                &reg.code_sealed,
                &reg.now,
            ],
        )?;
        Ok(())
    }

    fn registration(&mut self, token: Uuid) -> DomainResult<Option<Registration>> {
        // In a write the row is held until the commit: a code is checked
        // and its failures counted one request at a time.
        let lock = self.for_update();
        self.opt(
            &format!(
                "SELECT {REGISTRATION_COLUMNS} FROM issued_registration WHERE token = $1 {lock}"
            ),
            &[&token.to_string()],
        )?
        .as_ref()
        .map(registration_from_row)
        .transpose()
    }

    fn newest_registration(&mut self) -> DomainResult<Option<Registration>> {
        self.opt(
            &format!(
                "SELECT {REGISTRATION_COLUMNS} FROM issued_registration ORDER BY id DESC LIMIT 1"
            ),
            &[],
        )?
        .as_ref()
        .map(registration_from_row)
        .transpose()
    }

    fn mark_registration_used(&mut self, id: i64, now: Ts) -> DomainResult<()> {
        self.change(
            "UPDATE issued_registration SET used_at = $2 WHERE id = $1",
            &[&id, &now],
        )?;
        Ok(())
    }

    fn registration_failed(&mut self, id: i64) -> DomainResult<()> {
        self.change(
            "UPDATE issued_registration SET failed_attempts = failed_attempts + 1 WHERE id = $1",
            &[&id],
        )?;
        Ok(())
    }

    fn set_registration_created(&mut self, token: Uuid, at: Ts) -> DomainResult<bool> {
        Ok(self.change(
            "UPDATE issued_registration SET created_at = $2 WHERE token = $1",
            &[&token.to_string(), &at],
        )? > 0)
    }

    fn insert_session(
        &mut self,
        uid: Uuid,
        user_id: i64,
        token_hash: &str,
        user_agent: Option<&str>,
        now: Ts,
    ) -> DomainResult<()> {
        self.exec(
            "INSERT INTO login_session (uid, user_id, token_hash, user_agent, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
            &[&uid.to_string(), &user_id, &token_hash, &user_agent, &now],
        )?;
        Ok(())
    }

    fn session(&mut self, uid: Uuid) -> DomainResult<Option<SessionRecord>> {
        self.opt(
            r#"SELECT s.token_hash, s.created_at, s.last_seen_at, u.id, u.role, u.email, u.full_name,
                      u.deleted_at IS NOT NULL
               FROM login_session s JOIN "user" u ON u.id = s.user_id
               WHERE s.uid = $1"#,
            &[&uid.to_string()],
        )?
        .map(|r| {
            Ok(SessionRecord {
                token_hash: r.try_get(0)?,
                created_at: r.try_get(1)?,
                last_seen_at: r.try_get(2)?,
                user_id: r.try_get(3)?,
                role: r.try_get(4)?,
                email: r.try_get(5)?,
                full_name: r.try_get(6)?,
                user_deleted: r.try_get(7)?,
            })
        })
        .transpose()
    }

    fn touch_session(&mut self, uid: Uuid, now: Ts) -> DomainResult<()> {
        // Bookkeeping: no cached answer depends on it.
        self.exec(
            "UPDATE login_session SET last_seen_at = $2 WHERE uid = $1",
            &[&uid.to_string(), &now],
        )?;
        Ok(())
    }

    fn sessions_of(&mut self, user_id: i64, seen_after: Ts) -> DomainResult<Vec<SessionInfo>> {
        self.rows(
            "SELECT uid, user_agent, created_at, last_seen_at FROM login_session
             WHERE user_id = $1 AND last_seen_at > $2
             ORDER BY last_seen_at DESC, created_at DESC",
            &[&user_id, &seen_after],
        )?
        .iter()
        .map(|r| {
            Ok(SessionInfo {
                uid: uuid(r.try_get(0)?)?,
                user_agent: r.try_get(1)?,
                created_at: r.try_get(2)?,
                last_seen_at: r.try_get(3)?,
            })
        })
        .collect()
    }

    fn delete_session(&mut self, uid: Uuid, user_id: i64) -> DomainResult<bool> {
        Ok(self.exec(
            "DELETE FROM login_session WHERE uid = $1 AND user_id = $2",
            &[&uid.to_string(), &user_id],
        )? > 0)
    }

    fn delete_sessions_of(&mut self, user_id: i64, keep: Option<Uuid>) -> DomainResult<usize> {
        let keep = keep.map(|u| u.to_string()).unwrap_or_default();
        Ok(self.exec(
            "DELETE FROM login_session WHERE user_id = $1 AND uid <> $2",
            &[&user_id, &keep],
        )? as usize)
    }

    fn insert_recovery(&mut self, token_hash: &str, user_id: i64, now: Ts) -> DomainResult<()> {
        self.change(
            "INSERT INTO issued_login_recovery (token_hash, user_id, created_at)
             VALUES ($1, $2, $3)",
            &[&token_hash, &user_id, &now],
        )?;
        Ok(())
    }

    fn recovery(&mut self, token_hash: &str) -> DomainResult<Option<Recovery>> {
        // In a write the token is held until the commit: it is used once.
        let lock = if self.write { "FOR UPDATE OF r" } else { "" };
        self.opt(
            &format!(
                r#"SELECT r.id, r.user_id, r.created_at, r.used_at IS NOT NULL,
                      u.deleted_at IS NOT NULL
               FROM issued_login_recovery r JOIN "user" u ON u.id = r.user_id
               WHERE r.token_hash = $1 {lock}"#
            ),
            &[&token_hash],
        )?
        .map(|r| {
            Ok(Recovery {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                created_at: r.try_get(2)?,
                used: r.try_get(3)?,
                user_deleted: r.try_get(4)?,
            })
        })
        .transpose()
    }

    fn mark_recovery_used(&mut self, id: i64, now: Ts) -> DomainResult<()> {
        self.change(
            "UPDATE issued_login_recovery SET used_at = $2 WHERE id = $1",
            &[&id, &now],
        )?;
        Ok(())
    }

    fn void_recoveries(&mut self, user_id: i64) -> DomainResult<usize> {
        Ok(self.change(
            "DELETE FROM issued_login_recovery WHERE user_id = $1 AND used_at IS NULL",
            &[&user_id],
        )? as usize)
    }

    fn set_recovery_created(&mut self, token_hash: &str, at: Ts) -> DomainResult<bool> {
        Ok(self.change(
            "UPDATE issued_login_recovery SET created_at = $2 WHERE token_hash = $1",
            &[&token_hash, &at],
        )? > 0)
    }

    fn insert_setup_token(&mut self, token_hash: &str, now: Ts) -> DomainResult<()> {
        self.exec(
            "INSERT INTO setup_token (token_hash, created_at) VALUES ($1, $2)
             ON CONFLICT (token_hash) DO NOTHING",
            &[&token_hash, &now],
        )?;
        Ok(())
    }

    fn setup_tokens(&mut self) -> DomainResult<Vec<String>> {
        self.rows("SELECT token_hash FROM setup_token", &[])?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    fn take_setup_tokens(&mut self) -> DomainResult<Vec<String>> {
        self.rows("DELETE FROM setup_token RETURNING token_hash", &[])?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    fn insert_oidc_login(&mut self, login: &OidcLogin) -> DomainResult<()> {
        self.change(
            "INSERT INTO oidc_login (state_hash, nonce, pkce_verifier, created_at)
             VALUES ($1, $2, $3, $4)",
            &[
                &login.state_hash,
                &login.nonce,
                &login.pkce_verifier,
                &login.created_at,
            ],
        )?;
        Ok(())
    }

    fn take_oidc_login(&mut self, state_hash: &str) -> DomainResult<Option<OidcLogin>> {
        self.opt(
            "DELETE FROM oidc_login WHERE state_hash = $1
             RETURNING state_hash, nonce, pkce_verifier, created_at",
            &[&state_hash],
        )?
        .map(|r| {
            Ok(OidcLogin {
                state_hash: r.try_get(0)?,
                nonce: r.try_get(1)?,
                pkce_verifier: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
        .transpose()
    }

    fn delete_oidc_logins_before(&mut self, before: Ts) -> DomainResult<usize> {
        Ok(self.change("DELETE FROM oidc_login WHERE created_at < $1", &[&before])? as usize)
    }
}
