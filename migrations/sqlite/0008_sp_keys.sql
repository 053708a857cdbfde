-- SP key pairs live in the database, so every instance sharing it signs and decrypts with the
-- same keys without a shared filesystem. The private key is sealed (AES-256-GCM) under the
-- key-encryption key each instance is given (SPCONNECT_KEY_ENCRYPTION_KEY, or certs/kek);
-- the database never holds it in the clear. Existing key files are imported on first use.
CREATE TABLE sp_keys (
    sso_id      INTEGER PRIMARY KEY,
    cert_pem    TEXT NOT NULL,
    key_sealed  TEXT NOT NULL,
    kek_id      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
