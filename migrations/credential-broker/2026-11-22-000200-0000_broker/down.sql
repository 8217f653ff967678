DROP TABLE rate_windows;
DROP TABLE audit_log;
DROP TABLE binding_upstreams;
DROP TABLE bindings;
