//! The visitor's side (WV-1, X-1): tokens for a site's page, standing choices per site and field,
//! the fields they disclose to websites, and the disclosure log.

use super::{crypto, sites};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Session};
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::Json;
use ringbook_proto::openplatform::{
    Choice, ConsentInfo, Disclosure, SetConsent, SiteProfile, TokenAnswer, TokenRequest,
    VisitorClaims, FIELDS,
};
use ringbook_store::openplatform::{ConsentRow, SiteProfileRow, SiteRow};

pub fn consent_info(row: &ConsentRow) -> ConsentInfo {
    ConsentInfo {
        site_id: row.site_id,
        site_name: row.site_name.clone(),
        choice: Choice::parse(&row.choice).unwrap_or(Choice::Ask),
        fields: serde_json::from_str(&row.fields).unwrap_or_default(),
        raw_id: row.raw_id,
        updated_at: row.updated_at,
    }
}

/// The site a page origin belongs to.
async fn site_for_origin(state: &AppState, origin: &str) -> ApiResult<SiteRow> {
    let origin = sites::normalize_origin(origin).ok_or_else(|| {
        ApiError::bad_request("invalid_origin", format!("'{origin}' is not a web origin"))
    })?;
    for site in state.core.store.op_sites().await? {
        let origins: Vec<String> = serde_json::from_str(&site.origins).unwrap_or_default();
        if origins.contains(&origin) {
            return Ok(site);
        }
    }
    Err(ApiError::not_found(
        "unknown_site",
        format!("{origin} is not a registered website"),
    ))
}

/// A site by numeric ID or by name.
async fn site_by_ref(state: &AppState, r: &str) -> ApiResult<SiteRow> {
    let found = match r.parse::<i64>() {
        Ok(id) => state.core.store.op_site(id).await?,
        Err(_) => state.core.store.op_site_by_name(r).await?,
    };
    found.ok_or_else(|| ApiError::not_found("unknown_site", format!("no registered website '{r}'")))
}

/// The visitor's consent row for a site, created as `ask` (with their pseudonym) on first use.
async fn consent_or_ask(state: &AppState, user_id: i64, site: &SiteRow) -> ApiResult<ConsentRow> {
    if let Some(c) = state.core.store.op_consent(user_id, site.id).await? {
        return Ok(c);
    }
    let key = crypto::token_key(state).to_vec();
    let pseudonym = crypto::pseudonym(&key, site.id, user_id)?;
    Ok(state
        .core
        .store
        .op_put_consent(user_id, site.id, "ask", "[]", false, &pseudonym, now_ms())
        .await?)
}

/// `POST /v1/openplatform/token`: the agent asks on behalf of a page; a token only under `allow`.
pub async fn token(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<Json<TokenAnswer>> {
    let site = site_for_origin(&state, &req.origin).await?;
    let consent = consent_or_ask(&state, session.user_id, &site).await?;
    let choice = Choice::parse(&consent.choice).unwrap_or(Choice::Ask);
    let mut answer = TokenAnswer {
        site_id: site.id,
        site_name: site.name.clone(),
        choice,
        token: None,
        expires_at: None,
    };
    if choice != Choice::Allow {
        return Ok(Json(answer));
    }
    let now = now_ms() / 1000;
    let exp = now + state.config.openplatform.token_ttl_secs as i64;
    let claims = VisitorClaims {
        iss: crypto::ISSUER.into(),
        aud: crypto::audience(site.id),
        sub: consent.pseudonym.clone(),
        iat: now,
        exp,
        jti: hex::encode(rand::random::<[u8; 12]>()),
        origin: sites::normalize_origin(&req.origin).unwrap_or_default(),
        uid: consent.raw_id.then(|| session.phone.to_string()),
    };
    let key = crypto::token_key(&state).to_vec();
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("token signing: {e}")))?;
    answer.token = Some(jwt);
    answer.expires_at = Some(exp * 1000);
    Ok(Json(answer))
}

pub async fn consents(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Json<Vec<ConsentInfo>>> {
    Ok(Json(
        state
            .core
            .store
            .op_consents(session.user_id)
            .await?
            .iter()
            .map(consent_info)
            .collect(),
    ))
}

pub fn check_fields(fields: &[String]) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for f in fields {
        let f = f.trim().to_ascii_lowercase();
        if !FIELDS.contains(&f.as_str()) {
            return Err(ApiError::bad_request(
                "unknown_field",
                format!(
                    "'{f}' is not a field websites can receive; use {}",
                    FIELDS.join(", ")
                ),
            ));
        }
        if !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(out)
}

pub async fn set_consent(
    State(state): State<AppState>,
    session: Session,
    Path(site_ref): Path<String>,
    ApiJson(req): ApiJson<SetConsent>,
) -> ApiResult<Json<ConsentInfo>> {
    let site = site_by_ref(&state, &site_ref).await?;
    let fields = check_fields(&req.fields)?;
    let current = consent_or_ask(&state, session.user_id, &site).await?;
    let (fields, raw_id) = match req.choice {
        Choice::Allow => (fields, req.raw_id),
        // Nothing is disclosable without `allow`; keep no stale field list around.
        Choice::Ask | Choice::Deny => (Vec::new(), false),
    };
    let fields_json = serde_json::to_string(&fields).map_err(anyhow::Error::from)?;
    let row = state
        .core
        .store
        .op_put_consent(
            session.user_id,
            site.id,
            req.choice.as_str(),
            &fields_json,
            raw_id,
            &current.pseudonym,
            now_ms(),
        )
        .await?;
    Ok(Json(consent_info(&row)))
}

/// `DELETE …/consents/{site}`: withdraw — the standing choice becomes `deny` with no fields.
pub async fn revoke(
    State(state): State<AppState>,
    session: Session,
    Path(site_ref): Path<String>,
) -> ApiResult<Json<ConsentInfo>> {
    let site = site_by_ref(&state, &site_ref).await?;
    let current = consent_or_ask(&state, session.user_id, &site).await?;
    let row = state
        .core
        .store
        .op_put_consent(
            session.user_id,
            site.id,
            "deny",
            "[]",
            false,
            &current.pseudonym,
            now_ms(),
        )
        .await?;
    tracing::info!(site = site.id, "visitor revoked a website's consent");
    Ok(Json(consent_info(&row)))
}

pub async fn profile(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Json<SiteProfile>> {
    Ok(Json(super::visitor_fields(&state, session.user_id).await?))
}

fn clean(v: Option<String>, field: &str, max: usize) -> ApiResult<Option<String>> {
    match v.map(|s| s.trim().to_string()) {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(ApiError::bad_request(
                "invalid_field",
                format!("{field} must be at most {max} characters without control characters"),
            ))
        }
        Some(s) => Ok(Some(s)),
    }
}

/// `PUT /v1/openplatform/profile`: replaces the fields websites may receive (with consent).
pub async fn set_profile(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<SiteProfile>,
) -> ApiResult<Json<SiteProfile>> {
    if req.phone.is_some() {
        return Err(ApiError::bad_request(
            "read_only_field",
            "the number comes from your account and cannot be set here",
        ));
    }
    if let Some(age) = req.age {
        if !(0..=150).contains(&age) {
            return Err(ApiError::bad_request(
                "invalid_field",
                "age must be between 0 and 150",
            ));
        }
    }
    let email = clean(req.email, "email", 254)?;
    if let Some(e) = &email {
        let ok = e
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !e.contains(' '));
        if !ok {
            return Err(ApiError::bad_request(
                "invalid_field",
                format!("'{e}' is not an email address"),
            ));
        }
    }
    let row = SiteProfileRow {
        name: clean(req.name, "name", 100)?,
        age: req.age,
        company: clean(req.company, "company", 200)?,
        title: clean(req.title, "title", 200)?,
        email,
    };
    state
        .core
        .store
        .op_put_site_profile(session.user_id, &row, now_ms())
        .await?;
    Ok(Json(super::visitor_fields(&state, session.user_id).await?))
}

#[derive(serde::Deserialize)]
pub struct LogQuery {
    limit: Option<i64>,
}

pub async fn disclosures(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> ApiResult<Json<Vec<Disclosure>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state
        .core
        .store
        .op_disclosures(session.user_id, limit)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Disclosure {
                id: r.id,
                site_id: r.site_id,
                site_name: r.site_name,
                purpose: r.purpose,
                fields: serde_json::from_str(&r.fields).unwrap_or_default(),
                caller_addr: r.caller_addr,
                at: r.at,
            })
            .collect(),
    ))
}
