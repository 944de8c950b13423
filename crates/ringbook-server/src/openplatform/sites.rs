//! Operator side: register, list and remove websites (WV-3).

use super::crypto;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientAddr};
use crate::identity::admin::require_admin;
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::Engine;
use ringbook_proto::openplatform::{RegisterSite, SiteInfo, SiteRegistered};
use ringbook_store::openplatform::{NewSite, SiteRow};
use ringbook_store::StoreError;

pub fn site_info(row: &SiteRow) -> SiteInfo {
    SiteInfo {
        id: row.id,
        name: row.name.clone(),
        origins: serde_json::from_str(&row.origins).unwrap_or_default(),
        allowed_addrs: serde_json::from_str(&row.allowed_addrs).unwrap_or_default(),
        has_secret: row.secret_enc.is_some(),
        public_key: row.public_key.clone(),
        created_at: row.created_at,
    }
}

/// `scheme://host[:port]` in lower case, no path; `None` when not an http(s) origin.
pub fn normalize_origin(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = raw.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return None;
    }
    if rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    Some(format!("{scheme}://{rest}"))
}

/// An address or CIDR network in canonical CIDR form.
pub fn normalize_net(raw: &str) -> Option<ipnet::IpNet> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| raw.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

pub async fn register(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RegisterSite>,
) -> ApiResult<(StatusCode, Json<SiteRegistered>)> {
    require_admin(&state, &addr, &headers)?;
    let name = req.name.trim();
    if name.is_empty()
        || name.len() > 100
        || name.chars().any(char::is_control)
        || name.parse::<i64>().is_ok()
    {
        return Err(ApiError::bad_request(
            "invalid_name",
            "give the site a name of 1 to 100 characters that is not only digits",
        ));
    }
    if req.origins.is_empty() {
        return Err(ApiError::bad_request(
            "no_origins",
            "give at least one origin, e.g. https://shop.example",
        ));
    }
    let mut origins = Vec::new();
    for o in &req.origins {
        let n = normalize_origin(o).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_origin",
                format!("'{o}' is not an origin like https://shop.example"),
            )
        })?;
        origins.push(n);
    }
    if req.allowed_addrs.is_empty() {
        return Err(ApiError::bad_request(
            "no_addresses",
            "give the addresses its server calls from (an IP or CIDR network, e.g. 203.0.113.7)",
        ));
    }
    let mut nets = Vec::new();
    for a in &req.allowed_addrs {
        let n = normalize_net(a).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_address",
                format!("'{a}' is not an IP address or CIDR network"),
            )
        })?;
        nets.push(n.to_string());
    }
    if let Some(pk) = &req.public_key {
        if crypto::parse_public_key(pk).is_none() {
            return Err(ApiError::bad_request(
                "invalid_public_key",
                "the public key must be a base64 Ed25519 public key (32 bytes)",
            ));
        }
    }
    if !req.shared_secret && req.public_key.is_none() {
        return Err(ApiError::bad_request(
            "no_credentials",
            "ask for a shared secret or give an Ed25519 public key (or both)",
        ));
    }
    let secret = req.shared_secret.then(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    });
    let secret_enc = match &secret {
        Some(s) => Some(crypto::encrypt_secret(&state, s)?),
        None => None,
    };
    let origins_json = serde_json::to_string(&origins).map_err(anyhow::Error::from)?;
    let nets_json = serde_json::to_string(&nets).map_err(anyhow::Error::from)?;
    let row = match state
        .core
        .store
        .op_create_site(
            &NewSite {
                name,
                origins: &origins_json,
                allowed_addrs: &nets_json,
                secret_enc: secret_enc.as_deref(),
                public_key: req.public_key.as_deref().map(str::trim),
            },
            now_ms(),
        )
        .await
    {
        Ok(r) => r,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "site_exists",
                format!("a site named '{name}' is already registered"),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(site = row.id, name = %row.name, "operator registered a website");
    Ok((
        StatusCode::CREATED,
        Json(SiteRegistered {
            site: site_info(&row),
            secret,
        }),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<SiteInfo>>> {
    require_admin(&state, &addr, &headers)?;
    Ok(Json(
        state
            .core
            .store
            .op_sites()
            .await?
            .iter()
            .map(site_info)
            .collect(),
    ))
}

pub async fn remove(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    require_admin(&state, &addr, &headers)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_site", "give the site's numeric ID"))?;
    match state.core.store.op_delete_site(id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(ApiError::not_found(
            "unknown_site",
            format!("no site with ID {id}"),
        )),
        Err(e) => Err(e.into()),
    }
}
