-- A day's seats are an object of counts per seat property ({"m365_user": 42}). Readers take it
-- apart with jsonb_each (the invoices, the seat forecast), which fails on anything but an object:
-- one such row written by hand stopped the engine step that read it, on every tick.
ALTER TABLE usage_daily ADD CONSTRAINT usage_daily_seats_object CHECK (jsonb_typeof(seats) = 'object');
