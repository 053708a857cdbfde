-- What an AuthnRequest was issued for: a user's sign-in ('login'), an admin's test login from
-- the console ('test') or an admin's sign-in to the console through the IdP ('admin'). Test
-- requests name the admin who started them: only that admin sees the result.
ALTER TABLE authn_requests ADD COLUMN purpose TEXT NOT NULL DEFAULT 'login';
ALTER TABLE authn_requests ADD COLUMN admin_id INTEGER;

-- The report of a test login, written at the ACS and shown to the admin who started it.
CREATE TABLE test_login_results (
    request_id  TEXT PRIMARY KEY,
    sso_id      INTEGER NOT NULL,
    admin_id    INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    outcome     TEXT NOT NULL,              -- 'passed' or the reason code
    report      TEXT NOT NULL               -- JSON (login::test_login::Report)
);
CREATE INDEX test_login_results_expires ON test_login_results (expires_at);

-- Console sign-in through the IdP: which configurations admins may use, and the one-time
-- hand-over from the ACS (cross-site POST) to the console's own same-site page.
ALTER TABLE sso_configs ADD COLUMN admin_signin INTEGER NOT NULL DEFAULT 0;
CREATE TABLE admin_sso_handovers (
    token_hash  TEXT PRIMARY KEY,
    admin_id    INTEGER NOT NULL,
    sso_id      INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
