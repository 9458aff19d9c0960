-- District risk gains a "normal" state below blue IV (blue is already a
-- warning) and remembers the hazard floor that set a level above the score's
-- own (a gauge over its warning line: at least orange), so screens can say why.

ALTER TABLE indicators DROP CONSTRAINT IF EXISTS indicators_level_check;
ALTER TABLE indicators ADD CONSTRAINT indicators_level_check
    CHECK (level IN ('normal', 'blue', 'yellow', 'orange', 'red'));
ALTER TABLE indicators ADD COLUMN IF NOT EXISTS floor text;
