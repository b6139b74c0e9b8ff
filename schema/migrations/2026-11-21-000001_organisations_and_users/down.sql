DROP TABLE users;
DROP TABLE distributor_partners;
DROP TABLE partners;
DROP TABLE distributors;
