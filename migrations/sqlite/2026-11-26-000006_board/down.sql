DROP TABLE session_quorum;
DROP TABLE session_attendance;
DROP TABLE rcp_quorum;
DROP TABLE professional_specialties;
