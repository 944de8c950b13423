//! Typed calls of the open platform (WV-1, X-1): the visitor's tokens, standing choices,
//! disclosable fields and disclosure log; the operator's site registration.

use crate::api::{path_segment, Client, ClientError};
use reqwest::Method;
use ringbook_proto::openplatform::*;

impl Client {
    /// A visitor token for the page at `origin` (only when the standing choice is `allow`).
    pub async fn op_token(&self, origin: &str) -> Result<TokenAnswer, ClientError> {
        self.call(
            Method::POST,
            "/v1/openplatform/token",
            Some(&TokenRequest {
                origin: origin.into(),
            }),
        )
        .await
    }

    pub async fn op_consents(&self) -> Result<Vec<ConsentInfo>, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/openplatform/consents", None)
            .await
    }

    /// Sets the standing choice for a site (by ID or name).
    pub async fn op_set_consent(
        &self,
        site: &str,
        req: &SetConsent,
    ) -> Result<ConsentInfo, ClientError> {
        self.call(
            Method::PUT,
            &format!("/v1/openplatform/consents/{}", path_segment(site)),
            Some(req),
        )
        .await
    }

    /// Withdraws consent: the choice becomes `deny` with no fields.
    pub async fn op_revoke(&self, site: &str) -> Result<ConsentInfo, ClientError> {
        self.call::<(), _>(
            Method::DELETE,
            &format!("/v1/openplatform/consents/{}", path_segment(site)),
            None,
        )
        .await
    }

    pub async fn op_profile(&self) -> Result<SiteProfile, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/openplatform/profile", None)
            .await
    }

    pub async fn op_set_profile(&self, p: &SiteProfile) -> Result<SiteProfile, ClientError> {
        self.call(Method::PUT, "/v1/openplatform/profile", Some(p))
            .await
    }

    pub async fn op_disclosures(&self, limit: i64) -> Result<Vec<Disclosure>, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/v1/openplatform/disclosures?limit={limit}"),
            None,
        )
        .await
    }

    /// Admin: registers a website (admin token as bearer, or from the server's host).
    pub async fn op_register_site(
        &self,
        req: &RegisterSite,
    ) -> Result<SiteRegistered, ClientError> {
        self.call(Method::POST, "/v1/admin/openplatform/sites", Some(req))
            .await
    }

    pub async fn op_sites(&self) -> Result<Vec<SiteInfo>, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/admin/openplatform/sites", None)
            .await
    }

    pub async fn op_remove_site(&self, id: i64) -> Result<(), ClientError> {
        self.call_empty::<()>(
            Method::DELETE,
            &format!("/v1/admin/openplatform/sites/{id}"),
            None,
        )
        .await
    }
}
