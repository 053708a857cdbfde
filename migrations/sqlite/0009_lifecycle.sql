-- The first year in production: configurations that can be turned off and deleted, SP key
-- rollover, and certificate-expiry alerts sent once.

-- A configuration that is off refuses logins (ext_login and the ACS) until it is turned on.
ALTER TABLE sso_configs ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));
ALTER TABLE sso_configs ADD COLUMN active_changed_at INTEGER;
-- Bumped by every SP key rollover step: instances compare it with what they cached, so a key
-- made or retired on one instance is used by every instance on its next request.
ALTER TABLE sso_configs ADD COLUMN sp_keys_version INTEGER NOT NULL DEFAULT 0;

-- A deleted configuration's SSO ID is never given out again: IdPs may still post to its URLs,
-- and its login history still names it.
CREATE TABLE deleted_sso_configs (
    sso_id      INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    domain      TEXT NOT NULL,
    deleted_at  INTEGER NOT NULL
);

-- SP key pairs, now several per configuration during a rollover: the `active` one signs and is
-- published; a `next` one is published beside it (IdPs that poll metadata pick it up) and
-- decrypts; after activation the old key stays as `previous` (decrypts, no longer published)
-- until it is retired.
CREATE TABLE sp_keys_v2 (
    key_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    sso_id        INTEGER NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('active', 'next', 'previous')),
    cert_pem      TEXT NOT NULL,
    key_sealed    TEXT NOT NULL,
    kek_id        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    activated_at  INTEGER,
    source        TEXT NOT NULL DEFAULT 'generated' CHECK (source IN ('generated', 'imported'))
);
INSERT INTO sp_keys_v2 (sso_id, role, cert_pem, key_sealed, kek_id, created_at, activated_at)
    SELECT sso_id, 'active', cert_pem, key_sealed, kek_id, created_at, created_at FROM sp_keys;
DROP TABLE sp_keys;
ALTER TABLE sp_keys_v2 RENAME TO sp_keys;
CREATE UNIQUE INDEX sp_keys_role ON sp_keys (sso_id, role);

-- One expiry alert per certificate and threshold (30, 7, 1 days), whichever instance sends it.
CREATE TABLE certificate_alerts (
    fingerprint     TEXT NOT NULL,
    threshold_days  INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, threshold_days)
);
