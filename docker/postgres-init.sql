-- Run once by the postgres image on an empty data volume: the DuckLake catalog gets its own
-- database beside Airflow's metadata database (POSTGRES_DB=airflow).
CREATE DATABASE axiswatch_lake OWNER airflow;
