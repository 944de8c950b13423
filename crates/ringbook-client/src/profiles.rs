//! Typed calls for profiles (spec part MM): own and others' profiles, the batch fetch on
//! coming online (MM-3), avatars, number bindings (MM-4), and posting a raw MM7 request the
//! way an MMSC does (for `ringbook mms send` and tests).

use crate::api::{path_segment, Client, ClientError};
use reqwest::Method;
use ringbook_proto::profiles::{
    BindConfirm, BindRequest, BindStarted, Bindings, Profile, ProfileUpdate, ProfilesBatch,
    ProfilesQuery,
};
use ringbook_proto::ErrorBody;

/// The raw answer of `POST /mm7`.
#[derive(Clone, Debug)]
pub struct Mm7Answer {
    pub http_status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// `+86…` in a URL path.
impl Client {
    async fn checked(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        let mut req = req;
        if let Some(t) = self.token() {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base_url().to_string(),
                source,
            })?;
        let status = resp.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(resp);
        }
        let bytes = resp.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice::<ErrorBody>(&bytes).unwrap_or_else(|_| ErrorBody {
            code: format!("http_{}", status.as_u16()),
            message: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            retry_after_secs: None,
        });
        Err(ClientError::Api {
            status: status.as_u16(),
            body,
        })
    }

    /// `GET /v1/profile`: one's own profile with every field and its visibility.
    pub async fn my_profile(&self) -> Result<Profile, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/profile", None).await
    }

    /// `PATCH /v1/profile`.
    pub async fn update_profile(&self, update: &ProfileUpdate) -> Result<Profile, ClientError> {
        self.call(Method::PATCH, "/v1/profile", Some(update)).await
    }

    /// `GET /v1/profiles/{phone}`: what the caller may see of someone's profile.
    pub async fn profile(&self, phone: &str) -> Result<Profile, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/v1/profiles/{}", path_segment(phone)),
            None,
        )
        .await
    }

    /// `POST /v1/profiles/batch`.
    pub async fn profiles(&self, query: &ProfilesQuery) -> Result<ProfilesBatch, ClientError> {
        self.call(Method::POST, "/v1/profiles/batch", Some(query))
            .await
    }

    /// `PUT /v1/profile/avatar` with the picture's bytes.
    pub async fn set_avatar(&self, picture: Vec<u8>) -> Result<Profile, ClientError> {
        let url = self.url("/v1/profile/avatar")?;
        let resp = self
            .checked(
                self.http
                    .put(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(picture),
            )
            .await?;
        resp.json()
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// `DELETE /v1/profile/avatar`.
    pub async fn delete_avatar(&self) -> Result<Profile, ClientError> {
        self.call::<(), _>(Method::DELETE, "/v1/profile/avatar", None)
            .await
    }

    /// `GET /v1/profiles/{phone}/avatar`: the JPEG (or its thumbnail).
    pub async fn avatar(&self, phone: &str, thumbnail: bool) -> Result<Vec<u8>, ClientError> {
        let mut url = self.url(&format!("/v1/profiles/{}/avatar", path_segment(phone)))?;
        if thumbnail {
            url.set_query(Some("size=thumb"));
        }
        let resp = self.checked(self.http.get(url)).await?;
        Ok(resp
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?
            .to_vec())
    }

    /// `GET /v1/profile/bindings`.
    pub async fn bindings(&self) -> Result<Bindings, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/profile/bindings", None)
            .await
    }

    /// `POST /v1/profile/bindings`: starts binding a number (a code goes to it by SMS).
    pub async fn bind(&self, phone: &str) -> Result<BindStarted, ClientError> {
        self.call(
            Method::POST,
            "/v1/profile/bindings",
            Some(&BindRequest {
                phone: phone.into(),
            }),
        )
        .await
    }

    /// `POST /v1/profile/bindings/confirm`.
    pub async fn confirm_binding(&self, phone: &str, code: &str) -> Result<Bindings, ClientError> {
        self.call(
            Method::POST,
            "/v1/profile/bindings/confirm",
            Some(&BindConfirm {
                phone: phone.into(),
                code: code.into(),
            }),
        )
        .await
    }

    /// `DELETE /v1/profile/bindings/{phone}`.
    pub async fn unbind(&self, phone: &str) -> Result<Bindings, ClientError> {
        self.call::<(), _>(
            Method::DELETE,
            &format!("/v1/profile/bindings/{}", path_segment(phone)),
            None,
        )
        .await
    }

    /// Posts an MM7 request body to `/mm7` as an MMSC would; any HTTP status is returned
    /// (MM7 answers errors with SOAP Faults, not JSON).
    pub async fn post_mm7(
        &self,
        content_type: &str,
        body: Vec<u8>,
        basic_auth: Option<(&str, &str)>,
    ) -> Result<Mm7Answer, ClientError> {
        let url = self.url("/mm7")?;
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header("SOAPAction", "\"\"")
            .body(body);
        if let Some((u, p)) = basic_auth {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base_url().to_string(),
                source,
            })?;
        let http_status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?
            .to_vec();
        Ok(Mm7Answer {
            http_status,
            content_type,
            body,
        })
    }
}
