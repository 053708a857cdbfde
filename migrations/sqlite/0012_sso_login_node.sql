-- Which node a user's sign-ins through a configuration vouched for, recorded at the first
-- sign-in: the SCIM rule "another node's user cannot be renamed" must hold after the
-- configuration is deleted or moved to another node (the configuration row alone would forget).
ALTER TABLE user_sso_logins ADD COLUMN node_id INTEGER;
UPDATE user_sso_logins SET node_id = (SELECT s.node_id FROM sso_configs s WHERE s.sso_id = user_sso_logins.sso_id);

DROP TRIGGER login_events_record_sso;
CREATE TRIGGER login_events_record_sso AFTER INSERT ON login_events
    WHEN NEW.outcome = 'success' AND NEW.user_id IS NOT NULL AND NEW.sso_id IS NOT NULL
BEGIN
    INSERT INTO user_sso_logins (user_id, sso_id, first_at, last_at, node_id)
        VALUES (NEW.user_id, NEW.sso_id, NEW.at, NEW.at, (SELECT node_id FROM sso_configs WHERE sso_id = NEW.sso_id))
        ON CONFLICT (user_id, sso_id) DO UPDATE SET last_at = MAX(last_at, excluded.last_at);
END;
