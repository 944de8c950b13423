//! The platform's console, as the third party uses it: log in with the account's name and
//! password (session cookie), then read the followers list, follower information pages
//! (openID ↔ FakeID), the message page (create time ↔ FakeID) and information by FakeID.

use anyhow::Context;
use ringbook_proto::official::{
    ConsoleFollower, ConsoleFollowerPage, ConsoleLoginRequest, ConsoleMessage, FollowerInfo,
};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;

pub struct Consoles {
    http: reqwest::Client,
    base: String,
    /// Session cookie per account.
    cookies: Mutex<HashMap<String, String>>,
}

impl Consoles {
    pub fn new(platform: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Consoles {
            http,
            base: platform.trim_end_matches('/').to_string(),
            cookies: Mutex::new(HashMap::new()),
        })
    }

    async fn login(&self, account: &str, password: &str) -> anyhow::Result<String> {
        let resp = self
            .http
            .post(format!("{}/console/login", self.base))
            .json(&ConsoleLoginRequest {
                account: account.into(),
                password: password.into(),
            })
            .send()
            .await
            .context("cannot reach the platform's console")?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            anyhow::bail!("console login for {account} failed: HTTP {status} {body}");
        }
        let cookie = resp
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
            .context("the console set no session cookie")?;
        tracing::info!(%account, "logged in to the console");
        Ok(cookie)
    }

    /// GETs a console page as JSON, logging in first (and again once if the session expired).
    pub async fn get<T: DeserializeOwned>(
        &self,
        account: &str,
        password: &str,
        path: &str,
    ) -> anyhow::Result<T> {
        for _ in 0..2 {
            let cookie = {
                let mut cookies = self.cookies.lock().await;
                match cookies.get(account) {
                    Some(c) => c.clone(),
                    None => {
                        let c = self.login(account, password).await?;
                        cookies.insert(account.to_string(), c.clone());
                        c
                    }
                }
            };
            let resp = self
                .http
                .get(format!("{}{path}", self.base))
                .header(reqwest::header::COOKIE, cookie)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .context("cannot reach the platform's console")?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
                self.cookies.lock().await.remove(account);
                continue;
            }
            if !resp.status().is_success() {
                anyhow::bail!("console {path}: HTTP {}", resp.status());
            }
            return resp
                .json::<T>()
                .await
                .with_context(|| format!("console {path}: unexpected answer"));
        }
        anyhow::bail!("the console keeps refusing the session for {account}")
    }

    pub async fn followers(
        &self,
        account: &str,
        password: &str,
    ) -> anyhow::Result<Vec<ConsoleFollower>> {
        self.get(account, password, "/console/followers").await
    }

    pub async fn follower_page(
        &self,
        account: &str,
        password: &str,
        fake_id: &str,
    ) -> anyhow::Result<ConsoleFollowerPage> {
        self.get(account, password, &format!("/console/followers/{fake_id}"))
            .await
    }

    pub async fn messages_at(
        &self,
        account: &str,
        password: &str,
        create_time: i64,
    ) -> anyhow::Result<Vec<ConsoleMessage>> {
        self.get(
            account,
            password,
            &format!("/console/messages?create_time={create_time}"),
        )
        .await
    }

    pub async fn user_info(
        &self,
        account: &str,
        password: &str,
        fake_id: &str,
    ) -> anyhow::Result<FollowerInfo> {
        self.get(account, password, &format!("/console/users/{fake_id}"))
            .await
    }
}
