-- SP key pairs, sealed under the instances' key-encryption key (see migrations/sqlite/0008).
CREATE TABLE sp_keys (
    sso_id      BIGINT PRIMARY KEY,
    cert_pem    TEXT NOT NULL,
    key_sealed  TEXT NOT NULL,
    kek_id      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
