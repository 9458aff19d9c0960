-- Cases lose their (district, status) index. Every read of open cases selects
-- them by status NOT IN ('resolved', 'closed'), which the partial index of
-- migration 020 serves (a status of 'created' implies that predicate); no read
-- selects resolved or closed cases by district. A case's status changes with
-- most of its events, and each change wrote a new entry into this index.
DROP INDEX IF EXISTS cases_district_status;
