//! `TestApp`: the real application, built by the same code as `main`, serving real
//! HTTP on a free loopback port, with its own database and Redis namespace.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;

use secrecy::SecretString;
use tentabo_api::Application;
use tentabo_api::config::{ApiConfig, DatabaseConfig, RedisConfig};
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
        bind: "127.0.0.1:0".parse().unwrap(),
    }
}

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
