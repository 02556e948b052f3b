-- Retention removes inbox ids older than every redelivery of their events, oldest first.
CREATE INDEX inbox_processed_at ON inbox (processed_at);
