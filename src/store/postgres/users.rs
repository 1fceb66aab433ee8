//! PostgreSQL queries of the users area.

use postgres::Row;

use super::PgTx;
use crate::auth::{email_key, fold};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::domain::user::{IdentityProvider, Role, UserStatus};
use crate::store::UserStore;
use crate::store::users::{DeletedExamples, User, UserFilter};

/// Columns for [`user_from_row`], in order.
const USER_COLUMNS: &str =
    "id, role, email, full_name, created_at, deleted_at, identity_provider, password_hash <> ''";

fn user_from_row(r: &Row) -> DomainResult<User> {
    Ok(User {
        id: r.try_get(0)?,
        role: r.try_get(1)?,
        email: r.try_get(2)?,
        full_name: r.try_get(3)?,
        created_at: r.try_get(4)?,
        deleted_at: r.try_get(5)?,
        identity_provider: r.try_get(6)?,
        has_password: r.try_get(7)?,
    })
}

impl UserStore for PgTx<'_, '_> {
    fn user_by_identity(
        &mut self,
        provider: IdentityProvider,
        subject: &str,
    ) -> DomainResult<Option<User>> {
        self.opt(
            &format!(
                r#"SELECT {USER_COLUMNS} FROM "user"
                   WHERE identity_provider = $1 AND identity_subject = $2"#
            ),
            &[&provider, &subject],
        )?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    fn link_identity(
        &mut self,
        id: i64,
        provider: IdentityProvider,
        subject: &str,
    ) -> DomainResult<()> {
        self.exec(
            r#"UPDATE "user" SET identity_provider = $2, identity_subject = $3 WHERE id = $1"#,
            &[&id, &provider, &subject],
        )?;
        Ok(())
    }

    fn user(&mut self, id: i64) -> DomainResult<Option<User>> {
        self.opt(
            &format!(r#"SELECT {USER_COLUMNS} FROM "user" WHERE id = $1"#),
            &[&id],
        )?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    fn user_by_email(&mut self, email: &str) -> DomainResult<Option<User>> {
        self.opt(
            &format!(r#"SELECT {USER_COLUMNS} FROM "user" WHERE email_key = $1"#),
            &[&email_key(email)],
        )?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    fn email_in_use(&mut self, email: &str, except: Option<i64>) -> DomainResult<bool> {
        Ok(self
            .opt(
                r#"SELECT 1 FROM "user" WHERE email_key = $1 AND id IS DISTINCT FROM $2"#,
                &[&email_key(email), &except],
            )?
            .is_some())
    }

    fn lock_user(&mut self, id: i64) -> DomainResult<()> {
        self.lock_rows(r#"SELECT 1 FROM "user" WHERE id = $1 FOR UPDATE"#, &[&id])
    }

    fn lock_administrators(&mut self) -> DomainResult<()> {
        // A writer that waited here re-reads the rows once the other one
        // commits, so the next statement counts what it left.
        self.lock_rows(
            r#"SELECT 1 FROM "user" WHERE deleted_at IS NULL AND role = 'ADMINISTRATOR'
               ORDER BY id FOR UPDATE"#,
            &[],
        )
    }

    fn has_users(&mut self) -> DomainResult<bool> {
        Ok(self
            .one(r#"SELECT EXISTS (SELECT 1 FROM "user")"#, &[])?
            .try_get(0)?)
    }

    fn list_users(&mut self, filter: &UserFilter) -> DomainResult<Vec<User>> {
        let deleted = filter.status.map(|s| s == UserStatus::Deleted);
        let name = filter.full_name.as_deref().map(fold);
        let q = filter.q.as_deref().map(fold);
        self.rows(
            &format!(
                r#"SELECT {USER_COLUMNS} FROM "user"
                   WHERE ($1::TEXT IS NULL OR strpos(full_name_fold, $1) > 0)
                     AND ($2::TEXT IS NULL OR strpos(full_name_fold, $2) > 0 OR strpos(email_key, $2) > 0)
                     AND ($3::TEXT IS NULL OR role = $3)
                     AND ($4::BOOLEAN IS NULL OR (deleted_at IS NOT NULL) = $4)
                     AND ($5::BIGINT IS NULL OR created_at >= $5)
                     AND ($6::BIGINT IS NULL OR created_at <= $6)
                   ORDER BY id LIMIT $7 OFFSET $8"#
            ),
            &[
                &name,
                &q,
                &filter.role,
                &deleted,
                &filter.created_from,
                &filter.created_to,
                &filter.limit,
                &filter.offset,
            ],
        )?
        .iter()
        .map(user_from_row)
        .collect()
    }

    fn set_user_role(&mut self, id: i64, role: Role) -> DomainResult<()> {
        self.change(
            r#"UPDATE "user" SET role = $2 WHERE id = $1"#,
            &[&id, &role],
        )?;
        Ok(())
    }

    fn set_user_email(&mut self, id: i64, email: &str) -> DomainResult<()> {
        self.change(
            r#"UPDATE "user" SET email = $2, email_key = $3 WHERE id = $1"#,
            &[&id, &email, &email_key(email)],
        )?;
        Ok(())
    }

    fn set_user_full_name(&mut self, id: i64, full_name: &str) -> DomainResult<()> {
        self.change(
            r#"UPDATE "user" SET full_name = $2, full_name_fold = $3 WHERE id = $1"#,
            &[&id, &full_name, &fold(full_name)],
        )?;
        Ok(())
    }

    fn set_user_deleted(&mut self, id: i64, deleted_at: Option<Ts>) -> DomainResult<()> {
        self.change(
            r#"UPDATE "user" SET deleted_at = $2 WHERE id = $1"#,
            &[&id, &deleted_at],
        )?;
        Ok(())
    }

    fn delete_examples(&mut self) -> DomainResult<DeletedExamples> {
        // ILIKE: SQLite's LIKE ignores ASCII case, and so does this.
        let events = self.change(
            "DELETE FROM event WHERE image_url ILIKE 'https://example.com/%'",
            &[],
        )? as usize;
        let users = self.change(
            r#"DELETE FROM "user" WHERE email_key ILIKE '%@example.com'"#,
            &[],
        )? as usize;
        self.change(
            "DELETE FROM issued_registration WHERE email_key ILIKE '%@example.com'",
            &[],
        )?;
        Ok(DeletedExamples { users, events })
    }
}
