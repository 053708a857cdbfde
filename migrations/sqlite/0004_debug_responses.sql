-- Per-configuration debug switch: keep the last few posted responses (signatures and
-- ciphertext redacted) so an admin can see what the IdP really sent.
ALTER TABLE sso_configs ADD COLUMN debug_keep_responses INTEGER NOT NULL DEFAULT 0;

CREATE TABLE debug_responses (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sso_id       INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    request_id   TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reason_code  TEXT,
    xml          TEXT NOT NULL
);
CREATE INDEX debug_responses_sso ON debug_responses (sso_id, id);
