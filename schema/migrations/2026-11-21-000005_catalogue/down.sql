DROP TABLE product_price_history;
DROP TABLE durations;
DROP TABLE product_price_tiers;
DROP TABLE products;
