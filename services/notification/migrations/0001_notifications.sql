-- What each customer was told. One notification per order and kind, whatever the redeliveries;
-- `seq` orders a customer's notifications (SSE event ids, Last-Event-ID replay, pagination).
CREATE TABLE notifications (
  id uuid PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  customer_id text NOT NULL,
  order_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('order.confirmed', 'order.rejected', 'order.cancelled')),
  subject text NOT NULL,
  text_body text NOT NULL,
  html_body text NOT NULL,
  event_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, kind)
);
CREATE INDEX notifications_by_customer ON notifications (customer_id, seq);

-- Each channel's delivery of a notification. In-app is the stored notification itself (listed and
-- streamed); email is sent by the sender loop, retried with backoff until sent or failed.
CREATE TABLE deliveries (
  notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  channel text NOT NULL CHECK (channel IN ('email')),
  recipient text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  sent_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (notification_id, channel)
);
-- The sender claims due pending deliveries, oldest first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
