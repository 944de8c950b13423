//! The profile HTTP API: one's own profile, others' profiles (filtered by visibility), the
//! batch fetch clients use when they come online (MM-3), and avatar upload/download.

use super::avatar;
use super::model::{self, Change, Viewer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Session};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ringbook_proto::profiles::{
    Profile, ProfileField, ProfileUpdate, ProfilesBatch, ProfilesQuery, Visibility,
};
use ringbook_store::profiles::AvatarChange;
use serde::Deserialize;

fn viewer(s: &Session) -> Viewer {
    Viewer {
        user_id: s.user_id,
        phone: s.phone.as_str().to_string(),
    }
}

async fn own_view(state: &AppState, s: &Session) -> ApiResult<Json<Profile>> {
    Ok(Json(
        model::view(state, s.user_id, s.phone.as_str(), &viewer(s)).await?,
    ))
}

/// `GET /v1/profile`: every field of one's own profile, with the visibilities.
pub async fn own(State(state): State<AppState>, session: Session) -> ApiResult<Json<Profile>> {
    own_view(&state, &session).await
}

/// `PATCH /v1/profile`.
pub async fn update(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<Profile>> {
    let mut change = Change::default();
    for (f, v) in &req.fields {
        change.fields.insert(*f, model::validate(*f, v)?);
    }
    change.visibility = req.visibility;
    model::apply(&state, session.user_id, session.phone.as_str(), change).await?;
    own_view(&state, &session).await
}

/// Reads a raw body up to `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // http-body-util's `LengthLimitError` ("length limit exceeded") is the only error
        // whose text says so.
        if e.to_string().contains("length limit") {
            ApiError::TooLarge {
                message: format!("the body is larger than the {limit} bytes accepted here"),
            }
        } else {
            ApiError::bad_request("bad_body", format!("the body could not be read: {e}"))
        }
    })
}

/// `PUT /v1/profile/avatar`: the body is the picture (JPEG, PNG, GIF, BMP or WebP), turned
/// into the standard avatar exactly as an MMS picture is.
pub async fn put_avatar(
    State(state): State<AppState>,
    session: Session,
    body: Body,
) -> ApiResult<Json<Profile>> {
    let limit = state.config.profiles.avatar.max_input_bytes;
    let bytes = read_body(body, limit).await?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "empty_body",
            "send the picture as the request body",
        ));
    }
    let new = avatar::standardise(&state, Some(session.user_id), bytes.to_vec())
        .await
        .map_err(avatar::Refused::into_api)?;
    let change = Change {
        avatar: Some(AvatarChange::Set(new)),
        ..Change::default()
    };
    model::apply(&state, session.user_id, session.phone.as_str(), change).await?;
    own_view(&state, &session).await
}

/// `DELETE /v1/profile/avatar`.
pub async fn delete_avatar(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Json<Profile>> {
    let change = Change {
        avatar: Some(AvatarChange::Remove),
        ..Change::default()
    };
    model::apply(&state, session.user_id, session.phone.as_str(), change).await?;
    own_view(&state, &session).await
}

async fn owner_of(state: &AppState, raw: &str) -> ApiResult<ringbook_store::identity::UserRow> {
    let phone = crate::identity::parse_phone(state, raw)?;
    state
        .core
        .store
        .user_by_phone(phone.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::not_found("no_such_user", format!("{phone} is not a Ringbook user"))
        })
}

/// `GET /v1/profiles/{phone}`: the fields the caller may see.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(phone): Path<String>,
) -> ApiResult<Json<Profile>> {
    let owner = owner_of(&state, &phone).await?;
    Ok(Json(
        model::view(&state, owner.id, &owner.phone, &viewer(&session)).await?,
    ))
}

/// `POST /v1/profiles/batch`: what a client fetches when it comes online.
pub async fn batch(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<ProfilesQuery>,
) -> ApiResult<Json<ProfilesBatch>> {
    let max = state.config.profiles.batch_max;
    if req.phones.len() > max {
        return Err(ApiError::bad_request(
            "too_many_numbers",
            format!("ask for at most {max} profiles at once"),
        ));
    }
    let me = viewer(&session);
    let mut out = ProfilesBatch::default();
    let mut seen = std::collections::BTreeSet::new();
    for raw in &req.phones {
        let Ok(phone) = crate::identity::parse_phone(&state, raw) else {
            out.unknown.push(raw.clone());
            continue;
        };
        if !seen.insert(phone.as_str().to_string()) {
            continue;
        }
        let Some(owner) = state.core.store.user_by_phone(phone.as_str()).await? else {
            out.unknown.push(phone.as_str().to_string());
            continue;
        };
        if let Some(known) = req.known.get(phone.as_str()) {
            let current = state
                .core
                .store
                .profile(owner.id)
                .await?
                .map(|p| p.version)
                .unwrap_or(0);
            if current == *known {
                continue;
            }
        }
        out.profiles
            .push(model::view(&state, owner.id, &owner.phone, &me).await?);
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct AvatarQuery {
    /// `full` (default) or `thumb`.
    #[serde(default)]
    pub size: Option<String>,
}

/// `GET /v1/profiles/{phone}/avatar[?size=thumb]`: the JPEG, if the caller may see it.
pub async fn avatar_image(
    State(state): State<AppState>,
    session: Session,
    Path(phone): Path<String>,
    ApiQuery(q): ApiQuery<AvatarQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let thumb = match q.size.as_deref() {
        None | Some("full") => false,
        Some("thumb") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_size",
                format!("size '{other}' is unknown; use full or thumb"),
            ))
        }
    };
    let owner = owner_of(&state, &phone).await?;
    let row = state.core.store.profile(owner.id).await?;
    let parsed = match &row {
        Some(r) => model::Parsed::from_row(r)?,
        None => model::Parsed::default(),
    };
    let me = viewer(&session);
    let mut access = model::Access::new(&state, owner.id, &me);
    let vis: Visibility = parsed.visibility_of(ProfileField::Avatar);
    let no_avatar = || {
        ApiError::not_found(
            "no_avatar",
            format!("{} has no avatar you can see", owner.phone),
        )
    };
    if !access.may_see(vis).await? {
        return Err(no_avatar());
    }
    let (id, bytes) = state
        .core
        .store
        .avatar_image(owner.id, thumb)
        .await?
        .ok_or_else(no_avatar)?;
    let etag = format!("\"{}{}\"", &id, if thumb { "-t" } else { "" });
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=0, must-revalidate"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}
