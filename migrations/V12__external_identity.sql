-- Corporate sign-in (issue 21): an account may be linked to one identity
-- in the company's directory (LDAP) or identity provider (OIDC).
--   identity_provider  'ldap' | 'oidc'; NULL = no external identity
--   identity_subject   the stable id there: LDAP entryUUID (or objectGUID,
--                      or the DN when the server has neither), OIDC iss + sub
-- Once linked, sign-ins find the account by this pair, never by email.
-- An account provisioned from outside has password_hash '' (no local
-- password until one is set through recovery or by an administrator).
ALTER TABLE user ADD COLUMN identity_provider TEXT
    CHECK (identity_provider IN ('ldap', 'oidc'));
ALTER TABLE user ADD COLUMN identity_subject TEXT;
CREATE UNIQUE INDEX user_identity ON user (identity_provider, identity_subject);
