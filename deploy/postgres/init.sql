-- Generated from services/*/service.json (npm run generate): edit the manifests, not this.
-- One database and one login role per service. Idempotent (psql's \gexec runs each generated
-- statement only when the object is missing), so the native stack runs it on every start and the
-- compose PostgreSQL runs it once from docker-entrypoint-initdb.d. Passwords are development-only
-- defaults; deployments pass their own.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', r, r)
  FROM unnest(ARRAY['catalog', 'notifications', 'orders']) AS r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r)
\gexec

SELECT format('CREATE DATABASE %I OWNER %I', d, d)
  FROM unnest(ARRAY['catalog', 'notifications', 'orders']) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d)
\gexec

-- A service's database is its own: no other role may connect to it.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', d)
  FROM unnest(ARRAY['catalog', 'notifications', 'orders']) AS d
\gexec
