-- Dead letters put back one by one from the operations console: the replay group's offsets only
-- record whole replays, so single ones are remembered here.
CREATE TABLE dead_letter_replays (
  dlq text NOT NULL,
  partition integer NOT NULL,
  "offset" bigint NOT NULL,
  replayed_by text NOT NULL,
  replayed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dlq, partition, "offset")
);
