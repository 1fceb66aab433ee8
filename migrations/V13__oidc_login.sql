-- OpenID Connect sign-in (issue 21): a sign-in that went to the provider
-- and has not come back yet. Kept in the database so that any instance can
-- take the callback; taken (deleted) once, so a replayed state finds nothing.
--   state_hash     SHA-256 (hex) of the `state` sent to the provider
--   nonce          expected in the ID token
--   pkce_verifier  the PKCE code verifier sent with the code
-- Rows older than ten minutes are refused and swept at the next sign-in.
CREATE TABLE oidc_login (
    state_hash     TEXT    PRIMARY KEY,
    nonce          TEXT    NOT NULL,
    pkce_verifier  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX oidc_login_created ON oidc_login (created_at);
