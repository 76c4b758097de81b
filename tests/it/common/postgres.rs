//! PostgreSQL databases for the tests that must run on it too.

/// A fresh PostgreSQL database for one test, or None (with the reason printed) when no server is reachable.
/// CI sets GATEWAY_REQUIRE_POSTGRES=1, which turns the skip into a failure.
pub struct PostgresDb {
    admin: sqlx::PgPool,
    pub name: String,
    pub url: String,
}

impl PostgresDb {
    pub async fn create() -> Option<PostgresDb> {
        let base =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let admin = match sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&base).await {
            Ok(pool) => pool,
            Err(e) => {
                if std::env::var("GATEWAY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("PostgreSQL is required (GATEWAY_REQUIRE_POSTGRES=1) but {base} is unreachable: {e}");
                }
                eprintln!("skipped: PostgreSQL at {base} is unreachable ({e}); set TEST_POSTGRES_URL to run this test");
                return None;
            }
        };
        let name = format!("gateway_test_{}", uuid::Uuid::new_v4().simple());
        // The name is ours (a UUID), not input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create test database");
        let url = match base.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => unreachable!("a postgres URL has a path"),
        };
        Some(PostgresDb { admin, name, url })
    }

    pub async fn drop_db(self) {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)))
            .execute(&self.admin)
            .await
            .ok();
    }
}
