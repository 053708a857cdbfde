-- Hardening after the outside review (issue 8).

-- Login CSRF: an AuthnRequest is answered only from the browser that started it. The browser
-- holds a random binding token in a cookie; the request row keeps its SHA-256 (hex).
-- The client address bounds how many pending requests one address can leave behind.
ALTER TABLE authn_requests ADD COLUMN browser_binding TEXT;
ALTER TABLE authn_requests ADD COLUMN client_addr TEXT;
CREATE INDEX authn_requests_sso_created ON authn_requests (sso_id, created_at);
CREATE INDEX authn_requests_client_created ON authn_requests (client_addr, created_at);
CREATE INDEX authn_requests_expires ON authn_requests (expires_at);

-- An unsolicited (IdP-initiated) login is committed at the ACS but becomes a browser session only
-- on a same-site GET, where the current session is visible and a different user must confirm.
CREATE TABLE pending_logins (
    token_hash     TEXT PRIMARY KEY,     -- SHA-256 (hex) of the continuation cookie
    user_id        INTEGER NOT NULL,
    sso_id         INTEGER NOT NULL,
    auth_at        INTEGER NOT NULL,
    session_index  TEXT,
    target         TEXT NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX pending_logins_expires ON pending_logins (expires_at);

-- Decryption oracle: per-configuration policy for encrypted assertions.
ALTER TABLE sso_configs ADD COLUMN encrypted_requires_signed_response INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sso_configs ADD COLUMN encrypted_gcm_only INTEGER NOT NULL DEFAULT 0;

-- Admin sign-in: a row is written *before* the password hash runs (atomic counting); devices
-- that signed in before carry a cookie whose hash is kept here, so strangers cannot lock a
-- known admin out of the console.
ALTER TABLE admin_signin_failures ADD COLUMN device TEXT;
CREATE INDEX admin_signin_failures_device ON admin_signin_failures (device, at);
CREATE TABLE admin_devices (
    device_hash   TEXT PRIMARY KEY,      -- SHA-256 (hex) of the device cookie
    admin_id      INTEGER NOT NULL REFERENCES admin_accounts(admin_id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
);

CREATE INDEX login_events_outcome_at ON login_events (outcome, at);
