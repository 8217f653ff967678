DROP TABLE collect_runs;
DROP TABLE auto_collect_settings;
DROP TABLE password_reset_tokens;
DROP TABLE web_sessions;
