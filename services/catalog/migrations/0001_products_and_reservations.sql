CREATE TABLE products (
  id uuid PRIMARY KEY,
  sku text NOT NULL UNIQUE CHECK (length(sku) BETWEEN 1 AND 64),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  price_minor bigint NOT NULL CHECK (price_minor >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  stock integer NOT NULL CHECK (stock >= 0),
  active boolean NOT NULL DEFAULT true,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Keyset pagination by name or by price, ties broken by id.
CREATE INDEX products_by_name ON products (name, id);
CREATE INDEX products_by_price ON products (price_minor, id);
-- Text search over name and description.
CREATE INDEX products_search ON products USING gin (to_tsvector('simple', name || ' ' || description));

-- One row per order: a redelivered order.placed finds it and changes nothing.
CREATE TABLE reservations (
  order_id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('reserved', 'rejected', 'released')),
  lines jsonb NOT NULL,
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
