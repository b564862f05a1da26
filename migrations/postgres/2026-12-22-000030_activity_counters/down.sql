DROP TABLE activity_counters;
