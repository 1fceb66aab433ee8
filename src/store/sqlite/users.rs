//! SQLite queries of the users area.

use rusqlite::{named_params, params};

use super::{OptionalRow, SqliteTx};
use crate::auth::{email_key, fold};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::domain::user::{IdentityProvider, Role, UserStatus};
use crate::store::UserStore;
use crate::store::users::{DeletedExamples, User, UserFilter};

/// Columns for [`user_from_row`], in order.
const USER_COLUMNS: &str =
    "id, role, email, full_name, created_at, deleted_at, identity_provider, password_hash <> ''";

fn user_from_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        role: r.get(1)?,
        email: r.get(2)?,
        full_name: r.get(3)?,
        created_at: r.get(4)?,
        deleted_at: r.get(5)?,
        identity_provider: r.get(6)?,
        has_password: r.get(7)?,
    })
}

impl SqliteTx<'_> {
    fn update_user(&self, sql: &str, params: impl rusqlite::Params) -> DomainResult<()> {
        self.conn.prepare_cached(sql)?.execute(params)?;
        Ok(())
    }
}

impl UserStore for SqliteTx<'_> {
    fn user_by_identity(
        &mut self,
        provider: IdentityProvider,
        subject: &str,
    ) -> DomainResult<Option<User>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM user
                 WHERE identity_provider = ?1 AND identity_subject = ?2"
            ))?
            .query_row(params![provider, subject], user_from_row)
            .optional()?)
    }

    fn link_identity(
        &mut self,
        id: i64,
        provider: IdentityProvider,
        subject: &str,
    ) -> DomainResult<()> {
        self.update_user(
            "UPDATE user SET identity_provider = ?2, identity_subject = ?3 WHERE id = ?1",
            params![id, provider, subject],
        )
    }

    fn user(&mut self, id: i64) -> DomainResult<Option<User>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM user WHERE id = ?1"))?
            .query_row([id], user_from_row)
            .optional()?)
    }

    fn user_by_email(&mut self, email: &str) -> DomainResult<Option<User>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM user WHERE email_key = ?1"
            ))?
            .query_row([email_key(email)], user_from_row)
            .optional()?)
    }

    fn email_in_use(&mut self, email: &str, except: Option<i64>) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM user WHERE email_key = ?1 AND id IS NOT ?2")?
            .query_row(params![email_key(email), except], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn lock_user(&mut self, _id: i64) -> DomainResult<()> {
        // The single writer already serialises every write.
        Ok(())
    }

    fn lock_administrators(&mut self) -> DomainResult<()> {
        Ok(())
    }

    fn has_users(&mut self) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM user)")?
            .query_row([], |r| r.get(0))?)
    }

    fn list_users(&mut self, filter: &UserFilter) -> DomainResult<Vec<User>> {
        let deleted = filter.status.map(|s| s == UserStatus::Deleted);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM user
             WHERE (:name IS NULL OR instr(full_name_fold, :name) > 0)
               AND (:q IS NULL OR instr(full_name_fold, :q) > 0 OR instr(email_key, :q) > 0)
               AND (:role IS NULL OR role = :role)
               AND (:deleted IS NULL OR (deleted_at IS NOT NULL) = :deleted)
               AND (:from IS NULL OR created_at >= :from)
               AND (:to IS NULL OR created_at <= :to)
             ORDER BY id LIMIT :limit OFFSET :offset"
        ))?;
        let rows = stmt.query_map(
            named_params! {
                ":name": filter.full_name.as_deref().map(fold),
                ":q": filter.q.as_deref().map(fold),
                ":role": filter.role,
                ":deleted": deleted,
                ":from": filter.created_from,
                ":to": filter.created_to,
                ":limit": filter.limit.unwrap_or(-1),
                ":offset": filter.offset,
            },
            user_from_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn set_user_role(&mut self, id: i64, role: Role) -> DomainResult<()> {
        self.update_user("UPDATE user SET role = ?2 WHERE id = ?1", params![id, role])
    }

    fn set_user_email(&mut self, id: i64, email: &str) -> DomainResult<()> {
        self.update_user(
            "UPDATE user SET email = ?2, email_key = ?3 WHERE id = ?1",
            params![id, email, email_key(email)],
        )
    }

    fn set_user_full_name(&mut self, id: i64, full_name: &str) -> DomainResult<()> {
        self.update_user(
            "UPDATE user SET full_name = ?2, full_name_fold = ?3 WHERE id = ?1",
            params![id, full_name, fold(full_name)],
        )
    }

    fn set_user_deleted(&mut self, id: i64, deleted_at: Option<Ts>) -> DomainResult<()> {
        self.update_user(
            "UPDATE user SET deleted_at = ?2 WHERE id = ?1",
            params![id, deleted_at],
        )
    }

    fn delete_examples(&mut self) -> DomainResult<DeletedExamples> {
        let events = self.conn.execute(
            "DELETE FROM event WHERE image_url LIKE 'https://example.com/%'",
            [],
        )?;
        let users = self
            .conn
            .execute("DELETE FROM user WHERE email_key LIKE '%@example.com'", [])?;
        self.conn.execute(
            "DELETE FROM issued_registration WHERE email_key LIKE '%@example.com'",
            [],
        )?;
        Ok(DeletedExamples { users, events })
    }
}
