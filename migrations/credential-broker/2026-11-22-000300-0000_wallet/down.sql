DROP TABLE wallet_credentials;
