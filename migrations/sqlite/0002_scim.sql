-- SCIM 2.0 provisioning (Keeper semantics): resource ids, teams, bearer tokens, invitation
-- outbox and the provisioning audit trail. Times are unix seconds, as in 0001.

-- A random UUID (version 4 layout) as SQLite can make one; used for SCIM resource ids.
-- Every user gets a SCIM id, whoever created it (JIT users are visible over SCIM too).
ALTER TABLE users ADD COLUMN scim_id TEXT;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN updated_at INTEGER;
-- Set by SCIM DELETE: the user stays (locked) but is gone from SCIM reads (404).
ALTER TABLE users ADD COLUMN scim_deleted_at INTEGER;

UPDATE users SET scim_id = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
    substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) ||
    substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))
  WHERE scim_id IS NULL;
CREATE UNIQUE INDEX users_scim_id ON users (scim_id);

CREATE TRIGGER users_assign_scim_id AFTER INSERT ON users WHEN NEW.scim_id IS NULL
BEGIN
    UPDATE users SET scim_id = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
        substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) ||
        substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))
      WHERE user_id = NEW.user_id;
END;

-- Licensed seats of a node; NULL = unlimited. SCIM answers 428 past it.
ALTER TABLE nodes ADD COLUMN seats INTEGER;

-- Teams (SCIM Groups). Created over SCIM as 'pending' until an admin approves them.
CREATE TABLE teams (
    team_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    team_uid     TEXT NOT NULL UNIQUE,
    node_id      INTEGER NOT NULL REFERENCES nodes(node_id),
    name         TEXT NOT NULL,
    external_id  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved')),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    approved_at  INTEGER
);
CREATE INDEX teams_node ON teams (node_id);

CREATE TABLE team_members (
    team_id   INTEGER NOT NULL REFERENCES teams(team_id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users(user_id),
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- One bearer token per node; only its SHA-256 is kept. A new token replaces the old at once.
CREATE TABLE scim_tokens (
    node_id       INTEGER PRIMARY KEY REFERENCES nodes(node_id),
    token_sha256  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);

-- Messages to send (invitations to SCIM-created users). Kept after sending.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  INTEGER NOT NULL,
    node_id     INTEGER NOT NULL,
    user_id     INTEGER,
    kind        TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    sent_at     INTEGER,
    last_error  TEXT
);

-- Every authenticated SCIM call on Users and Groups, named like JumpCloud's Directory Insights
-- events (user_create_provision, user_deprovision, group_update_provision, ...).
CREATE TABLE provisioning_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    node_id      INTEGER NOT NULL,
    event        TEXT NOT NULL,
    method       TEXT NOT NULL,
    target       TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    reason       TEXT,
    detail       TEXT,
    request_id   TEXT NOT NULL,
    client_addr  TEXT
);
CREATE INDEX provisioning_events_at ON provisioning_events (at);
