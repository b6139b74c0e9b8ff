//! `TestApp`: the real application, built by the same code as `main`, serving real
//! HTTP on a free loopback port, with its own database and Redis namespace.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;

use secrecy::SecretString;
use tentabo_api::Application;
use tentabo_api::config::{ApiConfig, AuthConfig, DatabaseConfig, RedisConfig};
use tokio::sync::oneshot;

use crate::support::{TestDb, TestRedis};

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub redis: TestRedis,
    pub state: tentabo_api::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The key ring tests seal credentials with (a fixed, test-only key; the worker's
/// test configuration uses the same one).
pub const SECRETS_KEY: &str = "test:dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=";

pub fn config(database_url: &str, redis_url: &str, namespace: &str) -> ApiConfig {
    ApiConfig {
        database: DatabaseConfig {
            url: SecretString::from(database_url.to_owned()),
            pool_size: 8,
        },
        redis: RedisConfig {
            url: SecretString::from(redis_url.to_owned()),
            namespace: namespace.to_owned(),
        },
        auth: AuthConfig {
            jwt_secret: SecretString::from(JWT_SECRET.to_owned()),
            access_ttl_secs: 900,
            refresh_ttl_secs: 3600,
            login_max_failures: 5,
            login_failure_window_secs: 900,
            login_max_per_ip: 1_000,
            login_ip_window_secs: 60,
            trust_forwarded_for: false,
        },
        bind: "127.0.0.1:0".parse().unwrap(),
        default_country: None,
        mapping_auto_approve: tentabo_workflows::mapping::store::DEFAULT_AUTO_APPROVE,
        metrics_token: Some(SecretString::from(METRICS_TOKEN.to_owned())),
        secrets_key: Some(SecretString::from(SECRETS_KEY.to_owned())),
        request_timeout_ms: 30_000,
        sentry_dsn: None,
        environment: "test".to_owned(),
        limits: Default::default(),
        console: Default::default(),
    }
}

/// The token the tests' `/metrics` requires.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// The tests' token-signing secret (tests forge tokens with it and with others).
pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256!";
pub const DEMO_PASSWORD: &str = "demo123";

impl TestApp {
    pub async fn spawn() -> TestApp {
        let db = TestDb::new().await;
        let redis = TestRedis::new();
        let cfg = config(&db.url, &redis.url, &redis.namespace);
        Self::spawn_with(db, redis, cfg).await
    }

    pub async fn spawn_with(db: TestDb, redis: TestRedis, cfg: ApiConfig) -> TestApp {
        let app = Application::build(cfg)
            .await
            .expect("build the application");
        let addr = app.local_addr().unwrap();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            client: reqwest::Client::new(),
            db,
            redis,
            state,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// A test app whose database holds the demo organisations and logins.
    pub async fn seeded() -> TestApp {
        let app = TestApp::spawn().await;
        app.seed().await;
        app
    }

    /// A test app with every demo row `seed-demo` writes: logins, catalogue, leads and
    /// a priced order.
    pub async fn seeded_with_sales() -> TestApp {
        let app = TestApp::seeded().await;
        let mut conn = app.db.conn().await;
        tentabo_workflows::catalogue::seed_demo(&mut conn)
            .await
            .unwrap();
        tentabo_workflows::sales::seed::seed_demo(&mut conn)
            .await
            .unwrap();
        drop(conn);
        app
    }

    pub async fn seed(&self) {
        let mut conn = self.db.conn().await;
        tentabo_workflows::identity::seed::seed_demo(&mut conn)
            .await
            .unwrap();
    }

    /// Logs in and returns the whole token response.
    pub async fn login_response(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Logs in a demo user and returns its access token.
    pub async fn token(&self, email: &str) -> String {
        let res = self.login_response(email, DEMO_PASSWORD).await;
        assert_eq!(res.status(), 200, "login of {email}");
        let body: serde_json::Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_as(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// Configures `erp/odoo` (as `admin`) to the Odoo server at `url`, database `prod`,
    /// login `sync@example.com`.
    pub async fn configure_odoo(&self, admin: &str, url: &str, password: &str) {
        let (status, body) = self
            .call(
                admin,
                reqwest::Method::POST,
                "/api/v1/integrations/odoo/configure",
                Some(serde_json::json!({
                    "configuration": { "url": url, "database": "prod", "login": "sync@example.com", "timeout_seconds": 5 },
                    "credentials": { "password": password },
                })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Sends a request as `token`; returns the status and the JSON body (null if none).
    pub async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let res = self.send_as(method, token, path, body).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Id of a seeded row by name / email.
    pub async fn id_of(&self, table: &str, column: &str, value: &str) -> uuid::Uuid {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let mut conn = self.db.conn().await;
        diesel::sql_query(format!("SELECT id FROM {table} WHERE {column} = $1"))
            .bind::<diesel::sql_types::Text, _>(value)
            .get_result::<Id>(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{table}.{column} = {value}: {e}"))
            .id
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.take().unwrap().await.unwrap()
    }
}
