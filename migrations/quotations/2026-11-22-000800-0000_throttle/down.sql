DROP TABLE api_throttle;
