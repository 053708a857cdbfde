-- SMTP delivery of queued invitations: how often sending was tried (given up after 10).
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
