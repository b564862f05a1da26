//! The code lists' pickers: `GET /terminology/{system}?q=`.

use std::sync::Arc;

use actix_web::{HttpResponse, get, web};
use concerto_persistence::terminology::{self, Code};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{List, Paging, non_blank};
use crate::caller::Caller;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// A code of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeView {
    /// The code system (`cim10`, `frcp-treatment`, …).
    pub system: String,
    /// The code, as the list writes it.
    pub code: String,
    /// Its label.
    pub label: String,
    /// First day of validity.
    pub valid_from: chrono::NaiveDate,
    /// Last day of validity (inclusive), when the list says it ends.
    pub valid_until: Option<chrono::NaiveDate>,
}

impl From<Code> for CodeView {
    fn from(c: Code) -> Self {
        Self { system: c.system, code: c.code, label: c.label, valid_from: c.valid_from, valid_until: c.valid_until }
    }
}

/// The search of `GET /terminology/{system}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeQuery {
    /// A code prefix (`C50`, `c50.9`, `8500/3`) or words each starting a word of the label,
    /// case- and accent-insensitive (`tumeur sein`, `radiothe`); every code when absent.
    pub q: Option<String>,
}

/// Searches a code list for a picker: the codes valid today (in the platform's time zone), in
/// code order (any authenticated user).
#[utoipa::path(
    tag = "terminology",
    operation_id = "listTerminologyCodes",
    params(("system" = String, Path, description = "The code system: `cim10`, `cim-o-3`, `frcp-treatment`, `frcp-organ-system`, `frcp-organ`, `frcp-rcp-nature`"), CodeQuery, Paging),
    responses(
        (status = 200, description = "A page of codes", body = List<CodeView>),
        (status = 422, description = "`unknown_system`: no such code system; `list_not_loaded`: no list of this system is loaded yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/terminology/{system}")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    system: web::Path<String>,
    query: web::Query<CodeQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let (system, q) = (system.into_inner(), non_blank(query.into_inner().q));
    let today = chrono::Utc::now().with_timezone(&state.time_zone).date_naive();
    let indexes = Arc::clone(&state.code_indexes);
    let found = state
        .db_as_with_lists(&caller, move |c, _, lists| terminology::search(c, &indexes, lists, &system, q.as_deref(), today, &page))
        .await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, CodeView::from)))
}
