-- Admin console: local admin accounts, failed sign-ins (rate limiting, shared by every instance)
-- and the audit trail of what admins changed.
CREATE TABLE admin_accounts (
    admin_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash  TEXT NOT NULL,            -- argon2id PHC string
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER
);

-- One row per refused sign-in; counted per email and per client address over a window.
CREATE TABLE admin_signin_failures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    email        TEXT NOT NULL COLLATE NOCASE,
    client_addr  TEXT NOT NULL
);
CREATE INDEX admin_signin_failures_email ON admin_signin_failures (email, at);
CREATE INDEX admin_signin_failures_addr ON admin_signin_failures (client_addr, at);

CREATE TABLE admin_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    admin_email  TEXT NOT NULL,
    action       TEXT NOT NULL,              -- stable verb: sso.create, idp.upload, user.lock, …
    target       TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX admin_audit_at ON admin_audit (at);
