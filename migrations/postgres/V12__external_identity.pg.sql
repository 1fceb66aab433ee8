-- Corporate sign-in (issue 21); see migrations/V12__external_identity.sql.
ALTER TABLE "user" ADD COLUMN identity_provider TEXT
    CHECK (identity_provider IN ('ldap', 'oidc'));
ALTER TABLE "user" ADD COLUMN identity_subject TEXT;
CREATE UNIQUE INDEX user_identity ON "user" (identity_provider, identity_subject);
