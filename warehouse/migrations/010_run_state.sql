-- Run state: which process runs (host, pid; or Airflow, whose tasks come and go), what the steps
-- after the load did, and why a run failed. A run goes running -> loaded -> finished, or ends
-- failed (its process reported an error) or abandoned (a later run found its process gone or
-- the run older than the run deadline). 'success' was the old name of 'finished'.
ALTER TABLE pipeline_runs ADD COLUMN host VARCHAR;
ALTER TABLE pipeline_runs ADD COLUMN pid INTEGER;
ALTER TABLE pipeline_runs ADD COLUMN orchestrator VARCHAR;
ALTER TABLE pipeline_runs ADD COLUMN pages_failed INTEGER;
ALTER TABLE pipeline_runs ADD COLUMN tagged INTEGER;
ALTER TABLE pipeline_runs ADD COLUMN clustered INTEGER;
ALTER TABLE pipeline_runs ADD COLUMN stories_new INTEGER;
ALTER TABLE pipeline_runs ADD COLUMN axis_stories_new INTEGER;
ALTER TABLE pipeline_runs ADD COLUMN repaired INTEGER;
ALTER TABLE pipeline_runs ADD COLUMN failure VARCHAR;
UPDATE pipeline_runs SET status = 'finished' WHERE status = 'success';
