-- The screens' case figures read "cases opened in the period, and every open
-- case" each refresh (store/queries.py CASE_KPIS_SQL). Both halves are
-- indexed, so the read stays small with a year of closed cases in the table
-- (Chengdu: about 3 million a year); `cases_district_status` cannot serve
-- "status is not resolved or closed".
CREATE INDEX cases_opened ON cases (opened_at);
CREATE INDEX cases_open ON cases (district) WHERE status NOT IN ('resolved', 'closed');
