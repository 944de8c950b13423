//! Official accounts (OA-1 … OA-3): typed calls for owners and followers.

use crate::api::{path_segment, Client, ClientError};
use reqwest::Method;
use ringbook_proto::official::*;

impl Client {
    pub async fn oa_create(&self, name: &str, password: &str) -> Result<AccountInfo, ClientError> {
        let req = CreateAccountRequest {
            name: name.into(),
            password: password.into(),
        };
        self.call(Method::POST, "/v1/official/accounts", Some(&req))
            .await
    }

    pub async fn oa_account(&self, name: &str) -> Result<AccountInfo, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/v1/official/accounts/{}", path_segment(name)),
            None,
        )
        .await
    }

    /// Runs the URL-verification handshake, then turns developer mode on.
    pub async fn oa_set_callback(
        &self,
        name: &str,
        url: &str,
        token: &str,
    ) -> Result<AccountInfo, ClientError> {
        let req = SetCallbackRequest {
            url: url.into(),
            token: token.into(),
        };
        self.call(
            Method::PUT,
            &format!("/v1/official/accounts/{}/callback", path_segment(name)),
            Some(&req),
        )
        .await
    }

    pub async fn oa_clear_callback(&self, name: &str) -> Result<AccountInfo, ClientError> {
        self.call::<(), _>(
            Method::DELETE,
            &format!("/v1/official/accounts/{}/callback", path_segment(name)),
            None,
        )
        .await
    }

    pub async fn oa_follow(&self, name: &str) -> Result<FollowResponse, ClientError> {
        self.call::<(), _>(
            Method::POST,
            &format!("/v1/official/accounts/{}/follow", path_segment(name)),
            None,
        )
        .await
    }

    pub async fn oa_unfollow(&self, name: &str) -> Result<FollowResponse, ClientError> {
        self.call::<(), _>(
            Method::DELETE,
            &format!("/v1/official/accounts/{}/follow", path_segment(name)),
            None,
        )
        .await
    }

    /// A follower writes to an account.
    pub async fn oa_send(
        &self,
        name: &str,
        kind: &str,
        body: &str,
    ) -> Result<SentToAccount, ClientError> {
        let req = SendToAccountRequest {
            kind: kind.into(),
            body: body.into(),
        };
        self.call(
            Method::POST,
            &format!("/v1/official/accounts/{}/messages", path_segment(name)),
            Some(&req),
        )
        .await
    }

    /// The owner writes to one follower (by FakeID) or all of them.
    pub async fn oa_owner_send(
        &self,
        name: &str,
        req: &AccountSendRequest,
    ) -> Result<AccountSendResult, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/official/accounts/{}/send", path_segment(name)),
            Some(req),
        )
        .await
    }

    pub async fn oa_inbox(&self, after: i64) -> Result<Vec<OfficialMessage>, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/v1/official/inbox?after={after}"),
            None,
        )
        .await
    }

    pub async fn oa_privacy(&self) -> Result<OfficialPrivacy, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/official/privacy", None)
            .await
    }

    pub async fn oa_set_privacy(&self, fields: &[&str]) -> Result<OfficialPrivacy, ClientError> {
        let req = OfficialPrivacy {
            fields: fields.iter().map(|s| s.to_string()).collect(),
        };
        self.call(Method::PUT, "/v1/official/privacy", Some(&req))
            .await
    }
}
