//! The profiles part (to be built).

use crate::state::AppState;
use axum::Router;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfilesConfig {}

pub fn routes() -> Router<AppState> {
    Router::new()
}
