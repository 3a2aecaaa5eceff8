-- An analyst view whose table no longer exists (renamed or removed): dropped with its function.
DROP VIEW IF EXISTS {view};
DROP FUNCTION IF EXISTS {function};
