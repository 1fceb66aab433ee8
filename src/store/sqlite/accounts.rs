//! SQLite queries of the accounts area.

use rusqlite::params;
use uuid::Uuid;

use super::{OptionalRow, SqliteTx};
use crate::domain::account::{email_key, fold};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::time::Ts;
use crate::store::AccountStore;
use crate::store::accounts::{
    Credentials, NewRegistration, NewUser, OidcLogin, Recovery, Registration, SessionInfo,
    SessionRecord,
};

const REGISTRATION_COLUMNS: &str = "id, token, email, full_name, password_hash, code_sealed, created_at, used_at IS NOT NULL, failed_attempts";

fn uuid(text: String) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn registration_from_row(r: &rusqlite::Row) -> rusqlite::Result<Registration> {
    Ok(Registration {
        id: r.get(0)?,
        token: uuid(r.get(1)?)?,
        email: r.get(2)?,
        full_name: r.get(3)?,
        password_hash: r.get(4)?,
        code_sealed: r.get(5)?,
        created_at: r.get(6)?,
        used: r.get(7)?,
        failed_attempts: r.get(8)?,
    })
}

impl AccountStore for SqliteTx<'_> {
    fn email_taken(&mut self, email: &str) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM user WHERE email_key = ?1")?
            .query_row([email_key(email)], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn insert_user(&mut self, user: &NewUser) -> DomainResult<i64> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO user (email, email_key, full_name, full_name_fold, password_hash, role, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                user.email.trim(),
                email_key(user.email),
                user.full_name,
                fold(user.full_name),
                user.password_hash,
                user.role,
                user.now
            ]);
        match inserted {
            Ok(_) => Ok(self.conn.last_insert_rowid()),
            // The unique email index: a concurrent insert won.
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(DomainError::rule(
                    crate::domain::error::messages::EMAIL_EXISTS,
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn credentials_by_email(&mut self, email: &str) -> DomainResult<Option<Credentials>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, password_hash, deleted_at IS NOT NULL FROM user WHERE email_key = ?1",
            )?
            .query_row([email_key(email)], |r| {
                Ok(Credentials {
                    user_id: r.get(0)?,
                    password_hash: r.get(1)?,
                    deleted: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn password_hash(&mut self, user_id: i64) -> DomainResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT password_hash FROM user WHERE id = ?1")?
            .query_row([user_id], |r| r.get(0))
            .optional()?)
    }

    fn set_password_hash(&mut self, user_id: i64, hash: &str) -> DomainResult<()> {
        self.conn
            .prepare_cached("UPDATE user SET password_hash = ?2 WHERE id = ?1")?
            .execute(params![user_id, hash])?;
        Ok(())
    }

    fn active_user_by_email(&mut self, email: &str) -> DomainResult<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM user WHERE email_key = ?1 AND deleted_at IS NULL")?
            .query_row([email_key(email)], |r| r.get(0))
            .optional()?)
    }

    fn insert_registration(&mut self, reg: &NewRegistration) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO issued_registration
                   (token, email, email_key, full_name, password_hash, code_sealed, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                reg.token.to_string(),
                reg.email,
                email_key(reg.email),
                reg.full_name,
                reg.password_hash,
                reg.code_sealed,
                reg.now
            ])?;
        Ok(())
    }

    fn registration(&mut self, token: Uuid) -> DomainResult<Option<Registration>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {REGISTRATION_COLUMNS} FROM issued_registration WHERE token = ?1"
            ))?
            .query_row([token.to_string()], registration_from_row)
            .optional()?)
    }

    fn newest_registration(&mut self) -> DomainResult<Option<Registration>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {REGISTRATION_COLUMNS} FROM issued_registration ORDER BY id DESC LIMIT 1"
            ))?
            .query_row([], registration_from_row)
            .optional()?)
    }

    fn mark_registration_used(&mut self, id: i64, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached("UPDATE issued_registration SET used_at = ?2 WHERE id = ?1")?
            .execute(params![id, now])?;
        Ok(())
    }

    fn registration_failed(&mut self, id: i64) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE issued_registration SET failed_attempts = failed_attempts + 1 WHERE id = ?1",
            )?
            .execute([id])?;
        Ok(())
    }

    fn set_registration_created(&mut self, token: Uuid, at: Ts) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached("UPDATE issued_registration SET created_at = ?2 WHERE token = ?1")?
            .execute(params![token.to_string(), at])?
            > 0)
    }

    fn insert_session(
        &mut self,
        uid: Uuid,
        user_id: i64,
        token_hash: &str,
        user_agent: Option<&str>,
        now: Ts,
    ) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO login_session (uid, user_id, token_hash, user_agent, created_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![uid.to_string(), user_id, token_hash, user_agent, now])?;
        Ok(())
    }

    fn session(&mut self, uid: Uuid) -> DomainResult<Option<SessionRecord>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT s.token_hash, s.created_at, s.last_seen_at, u.id, u.role, u.email, u.full_name,
                        u.deleted_at IS NOT NULL
                 FROM login_session s JOIN user u ON u.id = s.user_id
                 WHERE s.uid = ?1",
            )?
            .query_row([uid.to_string()], |r| {
                Ok(SessionRecord {
                    token_hash: r.get(0)?,
                    created_at: r.get(1)?,
                    last_seen_at: r.get(2)?,
                    user_id: r.get(3)?,
                    role: r.get(4)?,
                    email: r.get(5)?,
                    full_name: r.get(6)?,
                    user_deleted: r.get(7)?,
                })
            })
            .optional()?)
    }

    fn touch_session(&mut self, uid: Uuid, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached("UPDATE login_session SET last_seen_at = ?2 WHERE uid = ?1")?
            .execute(params![uid.to_string(), now])?;
        Ok(())
    }

    fn sessions_of(&mut self, user_id: i64, seen_after: Ts) -> DomainResult<Vec<SessionInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT uid, user_agent, created_at, last_seen_at FROM login_session
             WHERE user_id = ?1 AND last_seen_at > ?2
             ORDER BY last_seen_at DESC, created_at DESC",
        )?;
        let rows = stmt
            .query_map(params![user_id, seen_after], |r| {
                Ok(SessionInfo {
                    uid: uuid(r.get(0)?)?,
                    user_agent: r.get(1)?,
                    created_at: r.get(2)?,
                    last_seen_at: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn delete_session(&mut self, uid: Uuid, user_id: i64) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM login_session WHERE uid = ?1 AND user_id = ?2")?
            .execute(params![uid.to_string(), user_id])?
            > 0)
    }

    fn delete_sessions_of(&mut self, user_id: i64, keep: Option<Uuid>) -> DomainResult<usize> {
        let keep = keep.map(|u| u.to_string()).unwrap_or_default();
        Ok(self
            .conn
            .prepare_cached("DELETE FROM login_session WHERE user_id = ?1 AND uid <> ?2")?
            .execute(params![user_id, keep])?)
    }

    fn insert_recovery(&mut self, token_hash: &str, user_id: i64, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO issued_login_recovery (token_hash, user_id, created_at)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![token_hash, user_id, now])?;
        Ok(())
    }

    fn recovery(&mut self, token_hash: &str) -> DomainResult<Option<Recovery>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT r.id, r.user_id, r.created_at, r.used_at IS NOT NULL,
                        u.deleted_at IS NOT NULL
                 FROM issued_login_recovery r JOIN user u ON u.id = r.user_id
                 WHERE r.token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok(Recovery {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    created_at: r.get(2)?,
                    used: r.get(3)?,
                    user_deleted: r.get(4)?,
                })
            })
            .optional()?)
    }

    fn mark_recovery_used(&mut self, id: i64, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached("UPDATE issued_login_recovery SET used_at = ?2 WHERE id = ?1")?
            .execute(params![id, now])?;
        Ok(())
    }

    fn void_recoveries(&mut self, user_id: i64) -> DomainResult<usize> {
        Ok(self
            .conn
            .prepare_cached(
                "DELETE FROM issued_login_recovery WHERE user_id = ?1 AND used_at IS NULL",
            )?
            .execute([user_id])?)
    }

    fn set_recovery_created(&mut self, token_hash: &str, at: Ts) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "UPDATE issued_login_recovery SET created_at = ?2 WHERE token_hash = ?1",
            )?
            .execute(params![token_hash, at])?
            > 0)
    }

    fn insert_setup_token(&mut self, token_hash: &str, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO setup_token (token_hash, created_at) VALUES (?1, ?2)",
            )?
            .execute(params![token_hash, now])?;
        Ok(())
    }

    fn setup_tokens(&mut self) -> DomainResult<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT token_hash FROM setup_token")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    fn take_setup_tokens(&mut self) -> DomainResult<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM setup_token RETURNING token_hash")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    fn insert_oidc_login(&mut self, login: &OidcLogin) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO oidc_login (state_hash, nonce, pkce_verifier, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                login.state_hash,
                login.nonce,
                login.pkce_verifier,
                login.created_at
            ])?;
        Ok(())
    }

    fn take_oidc_login(&mut self, state_hash: &str) -> DomainResult<Option<OidcLogin>> {
        Ok(self
            .conn
            .prepare_cached(
                "DELETE FROM oidc_login WHERE state_hash = ?1
                 RETURNING state_hash, nonce, pkce_verifier, created_at",
            )?
            .query_row([state_hash], |r| {
                Ok(OidcLogin {
                    state_hash: r.get(0)?,
                    nonce: r.get(1)?,
                    pkce_verifier: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })
            .optional()?)
    }

    fn delete_oidc_logins_before(&mut self, before: Ts) -> DomainResult<usize> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM oidc_login WHERE created_at < ?1")?
            .execute([before])?)
    }
}
