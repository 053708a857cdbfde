-- Times are unix seconds (INTEGER) so the same schema reads the same on PostgreSQL (BIGINT).
CREATE TABLE nodes (
    node_id     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES nodes(node_id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE sso_configs (
    sso_id              INTEGER PRIMARY KEY,
    node_id             INTEGER NOT NULL REFERENCES nodes(node_id),
    name                TEXT NOT NULL,
    domain              TEXT NOT NULL,
    jit                 INTEGER NOT NULL DEFAULT 1,
    idp_initiated       INTEGER NOT NULL DEFAULT 1,
    clock_skew_secs     INTEGER NOT NULL DEFAULT 180,
    allow_sha1          INTEGER NOT NULL DEFAULT 0,
    allow_other_domains INTEGER NOT NULL DEFAULT 0,
    attr_email          TEXT NOT NULL DEFAULT 'Email',
    attr_first          TEXT NOT NULL DEFAULT 'First',
    attr_last           TEXT NOT NULL DEFAULT 'Last',
    idp_entity_id       TEXT,
    idp_sso_url         TEXT,
    idp_slo_url         TEXT,
    idp_certs           TEXT,            -- JSON array of base64 DER signing certificates
    idp_metadata        TEXT,
    idp_imported_at     INTEGER,
    created_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX sso_configs_domain ON sso_configs (lower(domain));

CREATE TABLE users (
    user_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    first_name      TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('invited', 'active', 'locked')),
    provisioned_by  TEXT NOT NULL CHECK (provisioned_by IN ('jit', 'scim', 'manual')),
    node_id         INTEGER NOT NULL REFERENCES nodes(node_id),
    created_at      INTEGER NOT NULL,
    last_login_at   INTEGER
);

-- AuthnRequests we issued; InResponseTo must name one, unexpired and unconsumed.
CREATE TABLE authn_requests (
    request_id   TEXT PRIMARY KEY,
    sso_id       INTEGER NOT NULL,
    target       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    consumed_at  INTEGER
);

-- One-time use of assertion IDs, kept until the assertion could no longer be accepted anyway.
CREATE TABLE used_assertions (
    sso_id        INTEGER NOT NULL,
    assertion_id  TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (sso_id, assertion_id)
);

CREATE TABLE login_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    sso_id          INTEGER,
    user_id         INTEGER,
    email           TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    reason_code     TEXT,
    detail          TEXT,
    issuer          TEXT,
    name_id         TEXT,
    client_addr     TEXT,
    request_id      TEXT NOT NULL,
    provisioned_by  TEXT
);
CREATE INDEX login_events_at ON login_events (at);

-- Service-wide settings that CLI commands and the server must agree on (e.g. the public URL).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
