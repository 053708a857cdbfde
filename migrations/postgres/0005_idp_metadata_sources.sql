-- IdP metadata sources and their refresh schedule (see migrations/sqlite/0011).
CREATE TABLE idp_metadata_sources (
    sso_id             BIGINT PRIMARY KEY,
    url                TEXT,
    allow_http         BIGINT NOT NULL DEFAULT 0,
    allow_private      BIGINT NOT NULL DEFAULT 0,
    pin_cert           TEXT,
    next_refresh_at    BIGINT,
    last_refresh_at    BIGINT,
    last_attempt_at    BIGINT,
    last_error         TEXT,
    failures           BIGINT NOT NULL DEFAULT 0
);
