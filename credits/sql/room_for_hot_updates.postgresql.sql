-- Room on the pages of the rows every debit updates (pool, client account, lot), on PostgreSQL
-- (installed by credits migration 0010; SQLite has no fillfactor).
--
-- Why: an UPDATE that finds room on the row's own page is a HOT update: no index entry, and the
-- old version is pruned in place. Under concurrent debits a full page often cannot be pruned
-- (other backends hold it pinned), the new version moves to another page, and a table of 65
-- pools grew to 50 pages during the benchmark, which every scan of it then read. With pages
-- filled to 20 % at insert, the versions of a busy row stay on its page. Applies to pages
-- written from then on (VACUUM FULL repacks existing tables).
ALTER TABLE credits_creditpool SET (fillfactor = 20);
ALTER TABLE credits_clientaccount SET (fillfactor = 20);
ALTER TABLE credits_lot SET (fillfactor = 20);
