CREATE TABLE orders (
  id uuid PRIMARY KEY,
  customer_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED')),
  total_minor bigint NOT NULL CHECK (total_minor >= 0),
  currency char(3) NOT NULL,
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- A customer's orders, newest first (keyset pagination).
CREATE INDEX orders_by_customer ON orders (customer_id, created_at DESC, id DESC);
-- The expiry sweep looks at pending orders by age.
CREATE INDEX orders_pending ON orders (created_at) WHERE status = 'PENDING';

CREATE TABLE order_lines (
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no smallint NOT NULL,
  product_id uuid NOT NULL,
  quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
  PRIMARY KEY (order_id, line_no)
);

-- POST /orders answers a repeated Idempotency-Key with the stored response (kept at least 24 h).
CREATE TABLE idempotency_keys (
  customer_id text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  order_id uuid NOT NULL,
  response_status smallint NOT NULL,
  response_body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, key)
);
