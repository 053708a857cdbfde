-- IdP metadata that stays current: where a configuration's IdP metadata comes from (a URL the
-- service refreshes on a schedule), how it may be fetched (the admin's explicit allowances for
-- plain HTTP and private addresses, meant for loopback tests), the optional pinned certificate
-- whose key must sign the metadata document, and the refresh bookkeeping every instance shares:
-- a due refresh is claimed by moving next_refresh_at forward in one UPDATE, so instances on one
-- database do not all fetch at once.
CREATE TABLE idp_metadata_sources (
    sso_id             INTEGER PRIMARY KEY,
    url                TEXT,
    allow_http         INTEGER NOT NULL DEFAULT 0,
    allow_private      INTEGER NOT NULL DEFAULT 0,
    pin_cert           TEXT,
    next_refresh_at    INTEGER,
    last_refresh_at    INTEGER,
    last_attempt_at    INTEGER,
    last_error         TEXT,
    failures           INTEGER NOT NULL DEFAULT 0
);
