-- OpenID Connect sign-in (issue 21); see migrations/V13__oidc_login.sql.
CREATE TABLE oidc_login (
    state_hash     TEXT    PRIMARY KEY,
    nonce          TEXT    NOT NULL,
    pkce_verifier  TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL
);
CREATE INDEX oidc_login_created ON oidc_login (created_at);
