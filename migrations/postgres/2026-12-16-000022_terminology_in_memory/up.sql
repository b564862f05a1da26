-- The pickers search the code lists held in memory by the server, one index per loaded version
-- (persistence::terminology::CodeIndexes), keyed by the load that wrote the list: the word
-- index and the folded columns the SQL search read are no longer read.
DROP TABLE terminology_terms;
ALTER TABLE terminology_codes DROP COLUMN code_key;
ALTER TABLE terminology_codes DROP COLUMN search_label;
ALTER TABLE code_systems ADD COLUMN load_id TEXT;
UPDATE code_systems SET load_id = (
    SELECT l.id FROM terminology_loads l WHERE l.system = code_systems.name ORDER BY l.loaded_at DESC, l.id DESC LIMIT 1
);
