DROP TABLE wl_credentials;
DROP TABLE wl_relationships;
DROP TABLE white_labels;
