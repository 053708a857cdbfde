-- SAML Single Logout (see src/logout.rs).
-- Per configuration: on "Sign out", also end the IdP session (send a LogoutRequest); default off
-- (close the vault only). The binding of the IdP's SingleLogoutService kept from its metadata.
ALTER TABLE sso_configs ADD COLUMN logout_idp BIGINT NOT NULL DEFAULT 0 CHECK (logout_idp IN (0, 1));
ALTER TABLE sso_configs ADD COLUMN idp_slo_binding TEXT;
-- The NameID of an unsolicited login parked for its continuation (a LogoutRequest names it).
ALTER TABLE pending_logins ADD COLUMN name_id TEXT;
ALTER TABLE pending_logins ADD COLUMN name_id_format TEXT;

-- Every browser login session, by the random id kept inside the tower session: a LogoutRequest
-- from the IdP finds the sessions to end by (sso_id, name_id[, session_index]); a session whose
-- row is gone is signed out on every instance at its next request.
CREATE TABLE login_sessions (
    login_sid       TEXT PRIMARY KEY,
    session_id      TEXT,
    user_id         BIGINT NOT NULL,
    sso_id          BIGINT NOT NULL,
    name_id         TEXT,
    name_id_format  TEXT,
    session_index   TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX login_sessions_subject ON login_sessions (sso_id, name_id);
CREATE INDEX login_sessions_expires ON login_sessions (expires_at);

-- LogoutRequests we sent: a LogoutResponse must answer one of them, once, before it expires.
CREATE TABLE logout_requests (
    request_id   TEXT PRIMARY KEY,
    sso_id       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT
);
CREATE INDEX logout_requests_expires ON logout_requests (expires_at);

-- LogoutRequest IDs received from IdPs: each is accepted once, across instances.
CREATE TABLE used_logout_requests (
    sso_id      BIGINT NOT NULL,
    request_id  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (sso_id, request_id)
);
CREATE INDEX used_logout_requests_expires ON used_logout_requests (expires_at);
