//! Typed calls of the contacts (PB-11) and presence (PB-12 … PB-14) endpoints.

use crate::{Client, ClientError};
use ringbook_proto::contacts::{ContactList, ContactSyncRequest, ContactSyncResponse};
use ringbook_proto::presence::{
    MyPresence, PresenceList, PresenceQuery, PresenceUpdate, PrivacyRequest, Visibility,
};

impl Client {
    /// `POST /v1/contacts/sync`: one incremental sync batch.
    pub async fn sync_contacts(
        &self,
        req: &ContactSyncRequest,
    ) -> Result<ContactSyncResponse, ClientError> {
        self.call(reqwest::Method::POST, "/v1/contacts/sync", Some(req))
            .await
    }

    /// `GET /v1/contacts`: the server's copy of the whole book.
    pub async fn server_contacts(&self) -> Result<ContactList, ClientError> {
        self.call::<(), _>(reqwest::Method::GET, "/v1/contacts", None)
            .await
    }

    /// `GET /v1/presence/me`
    pub async fn my_presence(&self) -> Result<MyPresence, ClientError> {
        self.call::<(), _>(reqwest::Method::GET, "/v1/presence/me", None)
            .await
    }

    /// `PUT /v1/presence/me`: changes only the fields set in `update`.
    pub async fn update_presence(
        &self,
        update: &PresenceUpdate,
    ) -> Result<MyPresence, ClientError> {
        self.call(reqwest::Method::PUT, "/v1/presence/me", Some(update))
            .await
    }

    /// `PUT /v1/presence/privacy`
    pub async fn set_presence_privacy(
        &self,
        visibility: Visibility,
    ) -> Result<MyPresence, ClientError> {
        self.call(
            reqwest::Method::PUT,
            "/v1/presence/privacy",
            Some(&PrivacyRequest { visibility }),
        )
        .await
    }

    /// `GET /v1/presence/contacts`: the presence of the book's users who let this user see it.
    pub async fn contacts_presence(&self) -> Result<PresenceList, ClientError> {
        self.call::<(), _>(reqwest::Method::GET, "/v1/presence/contacts", None)
            .await
    }

    /// `POST /v1/presence/query`
    pub async fn query_presence(&self, phones: &[String]) -> Result<PresenceList, ClientError> {
        self.call(
            reqwest::Method::POST,
            "/v1/presence/query",
            Some(&PresenceQuery {
                phones: phones.to_vec(),
            }),
        )
        .await
    }
}
