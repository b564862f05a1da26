DROP TABLE login_throttle;
ALTER TABLE accounts DROP COLUMN token_generation;
