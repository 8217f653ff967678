-- The five service databases (docker-compose's PostgreSQL runs this once, on an empty volume).
CREATE DATABASE control_plane;
CREATE DATABASE quotations;
CREATE DATABASE identity;
CREATE DATABASE credential_broker;
CREATE DATABASE users_registration;
