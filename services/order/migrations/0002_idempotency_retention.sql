-- Retention removes Idempotency-Keys past their replay window, oldest first.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
