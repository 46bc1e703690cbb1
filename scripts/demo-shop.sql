-- A small shop database for the demo: a few tables, a view, an index and a trigger.
PRAGMA journal_mode = WAL;
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, joined TEXT NOT NULL);
CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT NOT NULL, price_cents INTEGER NOT NULL, photo BLOB);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL, ordered_at TEXT NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL, at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE VIEW revenue_by_city AS
  SELECT c.city, SUM(o.quantity * p.price_cents) / 100.0 AS revenue
  FROM orders o JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = o.product_id
  GROUP BY c.city;
CREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN INSERT INTO audit(what) VALUES ('order ' || NEW.id); END;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO customers (name, city, joined)
SELECT 'customer ' || i, CASE i % 5 WHEN 0 THEN 'Lisbon' WHEN 1 THEN 'Kraków' WHEN 2 THEN 'Osaka' WHEN 3 THEN 'São Paulo' ELSE 'Nairobi' END, date('2024-01-01', '+' || (i % 700) || ' days') FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO products (title, price_cents, photo) SELECT 'product ' || i || ' ☕', 100 + (i * 37) % 9900, zeroblob(64) || randomblob(64) FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO orders (customer_id, product_id, quantity, ordered_at)
SELECT 1 + (i * 7919) % 2000, 1 + (i * 104729) % 300, 1 + i % 4, datetime('2025-01-01', '+' || (i % 86400) || ' minutes') FROM n;
