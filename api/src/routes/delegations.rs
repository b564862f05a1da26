//! Delegations with dates (holiday cover) and their history: "who held Dr X's rights on
//! 3 March, and through whom".

use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, mime, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use concerto_domain::ErrorCode;
use concerto_domain::affiliation::Validity;
use concerto_persistence::delegations::{self, DelegationEvent, Holder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::Paging;
use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The dates of a delegation as stored and shown: instants, UTC.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DelegationDates {
    /// First instant it grants (inclusive); `null`: from its making.
    pub valid_from: Option<DateTime<Utc>>,
    /// First instant it no longer grants (exclusive); `null`: until ended.
    pub valid_until: Option<DateTime<Utc>>,
}

/// A day of the platform's time zone (`YYYY-MM-DD`) or an RFC 3339 instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DayOrInstant {
    /// A day, in the platform's time zone (`CONCERTO_TIME_ZONE`, Europe/Paris by default).
    Day(NaiveDate),
    /// An instant.
    Instant(DateTime<Utc>),
}

impl<'de> Deserialize<'de> for DayOrInstant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if let Ok(day) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            return Ok(Self::Day(day));
        }
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Self::Instant(t.with_timezone(&Utc)))
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is neither a day (YYYY-MM-DD) nor an RFC 3339 instant")))
    }
}

/// The first instant (UTC) of `day` in `tz`. A day whose midnight a change of offset skips
/// starts at its first local time that exists.
pub fn start_of_day(tz: Tz, day: NaiveDate) -> NaiveDateTime {
    let midnight = day.and_time(NaiveTime::MIN);
    (0..=16)
        .find_map(|quarter| tz.from_local_datetime(&(midnight + chrono::Duration::minutes(15 * quarter))).earliest())
        .map_or(midnight, |t| t.naive_utc())
}

/// The optional body of `PUT /professionals/{id}/secretaries/{secretary_id}` and
/// `…/secretary-groups/{group_id}`: without it (or `null`), from now on, until ended.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationPeriod {
    /// First day or instant it grants (inclusive); a day starts at its midnight in the
    /// platform's time zone. Absent: at once.
    pub valid_from: Option<DayOrInstant>,
    /// Last day it grants (through the end of that day, in the platform's time zone), or the
    /// first instant it no longer grants (exclusive). Absent: until ended. Required when the
    /// physician grants it himself. It must end after it starts (`invalid_period`): a day to the
    /// same day is that one day; an instant to the same instant is refused.
    pub valid_until: Option<DayOrInstant>,
}

impl DelegationPeriod {
    /// Reads the optional JSON body of a delegation and checks its dates: a body needs a JSON
    /// content type (415), must be JSON (400), and of this shape (422 naming the field).
    pub fn from_body(req: &HttpRequest, body: &[u8], tz: Tz) -> Result<Validity, ApiError> {
        let period = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            let json = matches!(req.mime_type(), Ok(Some(m)) if m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
            if !json {
                return Err(ApiError::UnsupportedMediaType {
                    code: ErrorCode::UnsupportedMediaType,
                    detail: "the body must be application/json".to_owned(),
                });
            }
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest { code: ErrorCode::MalformedJson, detail: format!("the body is not valid JSON: {e}") })?;
            crate::json::from_value::<Option<DelegationPeriod>>(value)?
        };
        let period = period.unwrap_or_default();
        let from = period.valid_from.map(|v| match v {
            DayOrInstant::Day(day) => start_of_day(tz, day),
            DayOrInstant::Instant(t) => t.naive_utc(),
        });
        let until = period.valid_until.map(|v| match v {
            DayOrInstant::Day(day) => start_of_day(tz, day.succ_opt().unwrap_or(day)),
            DayOrInstant::Instant(t) => t.naive_utc(),
        });
        Ok(Validity::new(from, until, concerto_persistence::now())?)
    }
}

impl DelegationDates {
    /// The view of stored dates.
    pub fn of(v: Validity) -> Self {
        Self { valid_from: v.valid_from.map(|t| t.and_utc()), valid_until: v.valid_until.map(|t| t.and_utc()) }
    }
}

/// One recorded change of who holds whose rights.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationEventView {
    /// Opaque id.
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who made the change (`migration` for links that existed before the history was kept).
    pub actor_id: String,
    /// `affiliation`, `group_affiliation`, `group_membership` or `profile`.
    pub kind: String,
    /// `granted`, `changed` or `ended`.
    pub action: String,
    /// The physician of a (group) affiliation.
    pub physician_id: Option<String>,
    /// The secretary (for a profile: its holder).
    pub secretary_id: Option<String>,
    /// The group.
    pub group_id: Option<String>,
    /// The center of a profile.
    pub cancer_center_id: Option<String>,
    /// The kind of a profile.
    pub profile_kind: Option<String>,
    /// Dates after the change.
    pub valid_from: Option<DateTime<Utc>>,
    /// Dates after the change.
    pub valid_until: Option<DateTime<Utc>>,
    /// Dates before the change.
    pub previous_valid_from: Option<DateTime<Utc>>,
    /// Dates before the change.
    pub previous_valid_until: Option<DateTime<Utc>>,
}

impl From<DelegationEvent> for DelegationEventView {
    fn from(e: DelegationEvent) -> Self {
        let utc = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc());
        Self {
            id: e.id,
            at: e.at.and_utc(),
            actor_id: e.actor_id,
            kind: e.kind.as_str().to_owned(),
            action: e.action.as_str().to_owned(),
            physician_id: e.physician_id,
            secretary_id: e.secretary_id,
            group_id: e.group_id,
            cancer_center_id: e.cancer_center_id,
            profile_kind: e.profile_kind,
            valid_from: utc(e.valid_from),
            valid_until: utc(e.valid_until),
            previous_valid_from: utc(e.previous_valid_from),
            previous_valid_until: utc(e.previous_valid_until),
        }
    }
}

/// A secretary who held the physician's rights at the instant asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderView {
    /// The secretary.
    pub secretary_id: String,
    /// Her name.
    pub display_name: String,
    /// The group she held them through; `null`: directly.
    pub via_group_id: Option<String>,
}

impl From<Holder> for HolderView {
    fn from(h: Holder) -> Self {
        Self { secretary_id: h.secretary_id, display_name: h.display_name, via_group_id: h.via_group_id }
    }
}

/// A page of a physician's delegation history, and with `?at=`, who held his rights then.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationHistory {
    /// The changes, oldest first.
    pub items: Vec<DelegationEventView>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
    /// With `?at=`: the secretaries who held his rights at that instant, directly or through
    /// a group (and held a secretary profile then).
    pub holders_at: Option<Vec<HolderView>>,
}

/// Parameter of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// An instant (RFC 3339): who held his rights then, past or future (a future instant
    /// answers who will hold them as the delegations stand now, dated ones included).
    pub at: Option<DateTime<Utc>>,
}

/// Every change of his affiliations, of his groups' membership and of the profiles of the
/// secretaries involved: the physician himself, coordinators of his centers, the administrator.
#[utoipa::path(
    tag = "directory",
    operation_id = "listDelegationHistory",
    params(("id" = String, Path, description = "Physician id"), HistoryQuery, Paging),
    responses(
        (status = 200, description = "The history", body = DelegationHistory),
        (status = 403, description = "Not allowed to see it"),
        (status = 404, description = "No such professional"),
    )
)]
#[get("/professionals/{id}/delegation-history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<HistoryQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let (id, at) = (id.into_inner(), query.at.map(|t| t.naive_utc()));
    let (events, holders) = state.db_as(&caller, move |c, p| delegations::history(c, p, &id, at, &page)).await?;
    Ok(HttpResponse::Ok().json(DelegationHistory {
        items: events.items.into_iter().map(Into::into).collect(),
        next_cursor: events.next_cursor,
        holders_at: holders.map(|h| h.into_iter().map(Into::into).collect()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_at_its_local_midnight() {
        let paris = chrono_tz::Europe::Paris;
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let utc = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(start_of_day(paris, day("2026-01-15")), utc("2026-01-14 23:00"));
        assert_eq!(start_of_day(paris, day("2026-07-15")), utc("2026-07-14 22:00"));
        assert_eq!(start_of_day(chrono_tz::UTC, day("2026-07-15")), utc("2026-07-15 00:00"));
        // Santiago skips midnight when summer time begins (2026-09-06): the day starts at 01:00.
        assert_eq!(start_of_day(chrono_tz::America::Santiago, day("2026-09-06")), utc("2026-09-06 04:00"));
    }

    #[test]
    fn dates_are_days_or_instants() {
        let read = |v: serde_json::Value| crate::json::from_value::<DelegationPeriod>(v);
        let p = read(serde_json::json!({"valid_from": "2026-12-24", "valid_until": "2026-12-26T08:00:00+01:00"})).unwrap();
        assert_eq!(p.valid_from, Some(DayOrInstant::Day(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap())));
        assert!(matches!(p.valid_until, Some(DayOrInstant::Instant(t)) if t.to_rfc3339() == "2026-12-26T07:00:00+00:00"));
        let Err(ApiError::Unprocessable { errors, .. }) = read(serde_json::json!({"valid_until": "24/12/2026"})) else { panic!() };
        assert_eq!(errors[0].field, "valid_until");
    }
}
