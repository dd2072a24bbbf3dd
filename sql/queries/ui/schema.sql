-- review app: which tables/views and columns exist in this snapshot (stages land at different times).
SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main';
