DROP TABLE recovery_codes;
DROP TABLE role_assignments;
DROP TABLE sessions;
DROP TABLE agents;
DROP TABLE tenants;
