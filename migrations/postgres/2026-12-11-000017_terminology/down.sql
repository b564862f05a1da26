DROP TABLE terminology_loads;
DROP TABLE terminology_terms;
DROP TABLE terminology_codes;
DROP TABLE code_systems;
