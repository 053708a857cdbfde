-- SCIM writes stay inside the domains a node manages (issue 8, items 1 and 2).
--
-- A node manages the enterprise domains of the SSO configurations attached to it, plus the
-- domains an admin lists for it here (`spconnect node set-domains`). SCIM of a node creates and
-- renames users only inside those domains. A domain is managed by one node at most: the CLI
-- refuses a domain that another node's configuration or list already holds.
CREATE TABLE node_domains (
    node_id  INTEGER NOT NULL REFERENCES nodes(node_id),
    domain   TEXT NOT NULL,
    PRIMARY KEY (node_id, domain)
);
CREATE UNIQUE INDEX node_domains_domain ON node_domains (lower(domain));

-- Every configuration a user has signed in through. SCIM of a node may not rename a user who
-- has signed in through a configuration of another node. Filled by a trigger on the login
-- record, so that it outlives the retention of login_events and no login code has to know.
CREATE TABLE user_sso_logins (
    user_id   INTEGER NOT NULL REFERENCES users(user_id),
    sso_id    INTEGER NOT NULL,
    first_at  INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, sso_id)
);

INSERT INTO user_sso_logins (user_id, sso_id, first_at, last_at)
    SELECT user_id, sso_id, MIN(at), MAX(at) FROM login_events
    WHERE outcome = 'success' AND user_id IS NOT NULL AND sso_id IS NOT NULL
    GROUP BY user_id, sso_id;

CREATE TRIGGER login_events_record_sso AFTER INSERT ON login_events
    WHEN NEW.outcome = 'success' AND NEW.user_id IS NOT NULL AND NEW.sso_id IS NOT NULL
BEGIN
    INSERT INTO user_sso_logins (user_id, sso_id, first_at, last_at)
        VALUES (NEW.user_id, NEW.sso_id, NEW.at, NEW.at)
        ON CONFLICT (user_id, sso_id) DO UPDATE SET last_at = MAX(last_at, excluded.last_at);
END;

-- One domain, one provisioning node, in the other direction too: a new SSO configuration may
-- not take a domain that an admin listed for another node (remove it from that list first).
CREATE TRIGGER sso_configs_domain_not_listed_elsewhere BEFORE INSERT ON sso_configs
    WHEN EXISTS (SELECT 1 FROM node_domains WHERE lower(domain) = lower(NEW.domain) AND node_id != NEW.node_id)
BEGIN
    SELECT RAISE(ABORT, 'the domain is listed for another node (spconnect node set-domains); remove it there first');
END;
