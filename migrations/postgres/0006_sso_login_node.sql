-- See migrations/sqlite/0012_sso_login_node.sql.
ALTER TABLE user_sso_logins ADD COLUMN node_id BIGINT;
UPDATE user_sso_logins SET node_id = (SELECT s.node_id FROM sso_configs s WHERE s.sso_id = user_sso_logins.sso_id);

CREATE OR REPLACE FUNCTION login_events_record_sso() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_sso_logins (user_id, sso_id, first_at, last_at, node_id)
        VALUES (NEW.user_id, NEW.sso_id, NEW.at, NEW.at,
                (SELECT node_id FROM sso_configs WHERE sso_id = NEW.sso_id))
        ON CONFLICT (user_id, sso_id) DO UPDATE
        SET last_at = GREATEST(user_sso_logins.last_at, EXCLUDED.last_at);
    RETURN NULL;
END;
$$;
