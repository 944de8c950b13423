//! Typed calls for service sharing (SS-1 … SS-6): catalogue, own subscriptions, sharing,
//! matched friends, one-click orders, the address-book upload, and the operator's rematch.

use crate::api::{path_segment, Client, ClientError};
use reqwest::Method;
use ringbook_proto::services::*;

impl Client {
    pub async fn services_catalog(&self) -> Result<Catalogue, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/services/catalog", None)
            .await
    }

    pub async fn services_mine(&self) -> Result<MyServices, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/services/mine", None)
            .await
    }

    /// Shares (`true`) or stops sharing one of the caller's services.
    pub async fn services_set_shared(
        &self,
        service_id: &str,
        shared: bool,
    ) -> Result<ShareState, ClientError> {
        let method = if shared { Method::PUT } else { Method::DELETE };
        self.call::<(), _>(
            method,
            &format!("/v1/services/shared/{}", path_segment(service_id)),
            None,
        )
        .await
    }

    pub async fn services_friends(&self) -> Result<Friends, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/services/friends", None)
            .await
    }

    pub async fn services_friend(&self, phone: &str) -> Result<Friend, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/v1/services/friends/{}", path_segment(phone)),
            None,
        )
        .await
    }

    pub async fn services_order(&self, req: &OrderRequest) -> Result<OrderView, ClientError> {
        self.call(Method::POST, "/v1/services/orders", Some(req))
            .await
    }

    pub async fn services_orders(&self) -> Result<Orders, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/services/orders", None)
            .await
    }

    pub async fn services_order_status(&self, id: i64) -> Result<OrderView, ClientError> {
        self.call::<(), _>(Method::GET, &format!("/v1/services/orders/{id}"), None)
            .await
    }

    /// Operator: start the batch rematch.
    pub async fn admin_rematch_start(&self) -> Result<RematchView, ClientError> {
        self.call::<(), _>(Method::POST, "/v1/admin/services/rematch", None)
            .await
    }

    /// Operator: progress of the running or last batch rematch.
    pub async fn admin_rematch_status(&self) -> Result<RematchView, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/admin/services/rematch", None)
            .await
    }

    /// Operator: record a subscription on the reference platform.
    pub async fn admin_grant_subscription(
        &self,
        phone: &str,
        service_id: &str,
    ) -> Result<MyService, ClientError> {
        let body = GrantSubscription {
            phone: phone.into(),
            service_id: service_id.into(),
        };
        self.call(
            Method::POST,
            "/v1/admin/services/subscriptions",
            Some(&body),
        )
        .await
    }
}
