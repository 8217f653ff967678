DROP TABLE quotations;
