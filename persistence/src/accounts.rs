//! Accounts: the login of a professional, and the principal loaded on every request.

use chrono::NaiveDateTime;
use concerto_domain::ErrorCode;
use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, Professional};
use concerto_domain::profile::{Profile, ProfileKind};
use concerto_domain::rules;
use concerto_domain::terminology::CurrentList;
use diesel::prelude::*;

use crate::affiliations::{ActingForNamed, ActingForRow};
use crate::professionals::{self, NewProfessional};
use crate::schema::accounts;
use crate::{DbConnection, Error, affiliations, new_id, now};

/// What a login is checked against; read as `CREDENTIALS`.
#[derive(Debug, Clone, Queryable)]
pub struct Credentials {
    /// The account's id (the token subject).
    pub account_id: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// A disabled account cannot log in and its tokens stop working.
    pub active: bool,
    /// Tokens carry the generation they were issued in; only the current one is honoured.
    pub token_generation: i64,
    /// The login name (lowercase): the key of the account's login throttling.
    pub username: String,
}

/// An account as the API shows it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Account {
    /// Opaque id.
    pub id: String,
    /// The professional who logs in with it.
    pub professional_id: String,
    /// Login name, lowercase.
    pub username: String,
    /// Platform administrator.
    pub is_platform_admin: bool,
    /// Enabled.
    pub active: bool,
}

const COLUMNS: (accounts::id, accounts::professional_id, accounts::username, accounts::is_platform_admin, accounts::active) =
    (accounts::id, accounts::professional_id, accounts::username, accounts::is_platform_admin, accounts::active);

/// Usernames compare case-insensitively: they are stored lowercase.
pub fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

const CREDENTIALS: (accounts::id, accounts::password_hash, accounts::active, accounts::token_generation, accounts::username) =
    (accounts::id, accounts::password_hash, accounts::active, accounts::token_generation, accounts::username);

/// The credentials of a username, if such an account exists.
pub fn credentials(conn: &mut DbConnection, username: &str) -> Result<Option<Credentials>, Error> {
    let row = accounts::table
        .filter(accounts::username.eq(normalize_username(username)))
        .select(CREDENTIALS)
        .first::<Credentials>(conn)
        .optional()?;
    Ok(row)
}

/// The credentials of an account, by id (`POST /me/password` checks the current password).
pub fn credentials_of(conn: &mut DbConnection, account_id: &str) -> Result<Credentials, Error> {
    let row = accounts::table.find(account_id).select(CREDENTIALS).first::<Credentials>(conn).optional()?;
    row.ok_or(Error::NotFound("account"))
}

/// Replaces an account's password and moves its token generation on, so every token issued
/// before stops working at once. `read_generation` is the generation the caller's current
/// password was checked against: a concurrent change in between makes this one a 409.
pub fn change_password(conn: &mut DbConnection, account_id: &str, read_generation: i64, password_hash: &str) -> Result<(), Error> {
    let n = diesel::update(accounts::table.find(account_id).filter(accounts::token_generation.eq(read_generation)))
        .set((accounts::password_hash.eq(password_hash), accounts::token_generation.eq(accounts::token_generation + 1)))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::conflict(ErrorCode::PasswordChanged, "the password was changed meanwhile; log in again"));
    }
    Ok(())
}

/// The professional behind an account and the centers where it holds a profile: what a
/// refused login's audit event names, so that the coordinators of those centers see it.
pub fn owner_and_centers(conn: &mut DbConnection, account_id: &str) -> Result<Option<(String, Vec<String>)>, Error> {
    use crate::schema::profiles;
    let Some(professional_id) = accounts::table.find(account_id).select(accounts::professional_id).first::<String>(conn).optional()? else {
        return Ok(None);
    };
    let mut centers: Vec<String> =
        profiles::table.filter(profiles::professional_id.eq(&professional_id)).select(profiles::cancer_center_id).load::<String>(conn)?;
    centers.sort();
    centers.dedup();
    Ok(Some((professional_id, centers)))
}

pub(crate) fn insert(
    conn: &mut DbConnection,
    professional_id: &str,
    username: &str,
    password_hash: &str,
    is_platform_admin: bool,
) -> Result<Account, Error> {
    let username = normalize_username(username);
    let taken = accounts::table.filter(accounts::username.eq(&username)).select(accounts::id).first::<String>(conn).optional()?;
    if taken.is_some() {
        return Err(Error::conflict(ErrorCode::UsernameTaken, "this username is already used"));
    }
    let has_account =
        accounts::table.filter(accounts::professional_id.eq(professional_id)).select(accounts::id).first::<String>(conn).optional()?;
    if has_account.is_some() {
        return Err(Error::conflict(ErrorCode::AccountExists, "this professional already has an account"));
    }
    let account = Account { id: new_id(), professional_id: professional_id.to_owned(), username, is_platform_admin, active: true };
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(&account.id),
            accounts::professional_id.eq(&account.professional_id),
            accounts::username.eq(&account.username),
            accounts::password_hash.eq(password_hash),
            accounts::is_platform_admin.eq(is_platform_admin),
            accounts::active.eq(true),
            accounts::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(account)
}

/// `POST /accounts`: the platform administrator opens an account for a professional.
pub fn create(
    conn: &mut DbConnection,
    p: &Principal,
    professional_id: &str,
    username: &str,
    password_hash: &str,
) -> Result<Account, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        professionals::find(c, professional_id)?;
        insert(c, professional_id, username, password_hash, false)
    })
}

/// `concerto create-admin`: a platform administrator, with a professional of category `other`
/// named after the username so every account has a professional behind it.
pub fn create_platform_admin(conn: &mut DbConnection, username: &str, password_hash: &str) -> Result<Account, Error> {
    crate::db::write(conn, |c| {
        let prof = professionals::insert(
            c,
            &NewProfessional {
                family_name: username.to_owned(),
                given_name: String::new(),
                rpps: None,
                email: None,
                category: Category::Other,
            },
        )?;
        insert(c, &prof.id, username, password_hash, true)
    })
}

/// `PATCH /accounts/{id}`: enable or disable; a disabled account's tokens stop working at once
/// because the principal is loaded from here on every request, and disabling also moves the
/// token generation on, so enabling the account again does not revive the tokens of before.
/// Disabling one's own account or the last active platform administrator is refused (409
/// `cannot_disable_self`, `last_platform_admin`).
pub fn set_active(conn: &mut DbConnection, p: &Principal, id: &str, active: bool) -> Result<Account, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        if !active {
            lock_platform_admins(c)?;
            let target_is_admin = accounts::table
                .find(id)
                .select(accounts::is_platform_admin)
                .first::<bool>(c)
                .optional()?
                .ok_or(Error::NotFound("account"))?;
            let others: i64 =
                accounts::table.filter(accounts::is_platform_admin.and(accounts::active).and(accounts::id.ne(id))).count().get_result(c)?;
            rules::may_disable_account(p, id, target_is_admin, others)?;
        }
        let generation = if active { accounts::token_generation + 0 } else { accounts::token_generation + 1 };
        let n = diesel::update(accounts::table.find(id))
            .set((accounts::active.eq(active), accounts::token_generation.eq(generation)))
            .execute(c)?;
        if n == 0 {
            return Err(Error::NotFound("account"));
        }
        accounts::table.find(id).select(COLUMNS).first(c).map_err(Error::from)
    })
}

/// Locks the platform administrators' account rows until the transaction ends (a no-op update,
/// in id order), so that a disable counts the active administrators after any other disable in
/// flight has committed: on PostgreSQL under `READ COMMITTED`, two administrators disabling each
/// other at once would otherwise both see the other one still active. SQLite writers are
/// already serialised by `BEGIN IMMEDIATE`.
fn lock_platform_admins(conn: &mut DbConnection) -> Result<(), Error> {
    let ids: Vec<String> = accounts::table.filter(accounts::is_platform_admin).select(accounts::id).order(accounts::id).load(conn)?;
    for id in ids {
        diesel::update(accounts::table.find(&id)).set(accounts::active.eq(accounts::active)).execute(conn)?;
    }
    Ok(())
}

/// The caller behind a token, with the names of the physicians she acts for (what `/me` shows).
#[derive(Debug, Clone)]
pub struct LoadedCaller {
    /// Rights and relations.
    pub principal: Principal,
    /// The professional behind the account.
    pub professional: Professional,
    /// P(S) with its routes and the physicians' names.
    pub acting_for: Vec<ActingForNamed>,
    /// The last user request of the token's login session (when a token was checked).
    pub last_activity_at: Option<NaiveDateTime>,
    /// Every code system's list as it stands, when asked for ([`load_caller_with_lists`]).
    pub code_lists: Option<Vec<CurrentList>>,
}

/// What an access token says, checked with the rights: the account's token generation at issue,
/// and the login session it belongs to, which must be open at `now` (not ended, before its
/// absolute end, and active since `idle_since`).
#[derive(Debug, Clone)]
pub struct TokenCheck {
    /// The token's generation.
    pub generation: i64,
    /// The token's session (`sid`).
    pub session_id: String,
    /// Now, by the server's clock.
    pub now: NaiveDateTime,
    /// Now less the idle timeout.
    pub idle_since: NaiveDateTime,
}

/// The caller behind a token's subject, in one round trip: `None` when the account is unknown or
/// disabled, or, given the token's check, when the token was issued in an earlier generation of
/// the account (before a password change or a disable) or its login session is no longer open.
pub fn load_caller(conn: &mut DbConnection, account_id: &str, check: Option<&TokenCheck>) -> Result<Option<LoadedCaller>, Error> {
    load(conn, account_id, check, false)
}

/// [`load_caller`] with every code system's list as it stands ([`LoadedCaller::code_lists`]), in
/// the same round trip: a picker's search then knows whether the index it holds is current
/// without a statement of its own.
pub fn load_caller_with_lists(
    conn: &mut DbConnection,
    account_id: &str,
    check: Option<&TokenCheck>,
) -> Result<Option<LoadedCaller>, Error> {
    load(conn, account_id, check, true)
}

fn load(conn: &mut DbConnection, account_id: &str, check: Option<&TokenCheck>, with_lists: bool) -> Result<Option<LoadedCaller>, Error> {
    use crate::cached_sql::{Bind, CachedSql};
    use diesel::sql_types::{Bool, Nullable, Text, Timestamp};
    type Columns = (
        Text,
        Nullable<Bool>,
        (Text, Text, Text, Nullable<Text>, Nullable<Text>, Nullable<Text>),
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Timestamp>,
        Nullable<Timestamp>,
    );
    type Row = (
        String,
        Option<bool>,
        (String, String, String, Option<String>, Option<String>, Option<String>),
        Option<String>,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    // Rights follow the delegations' dates at each request.
    let t = now();
    let account = |q: CachedSql<Columns>| {
        let q = q.bind(Bind::Text(account_id.to_owned()));
        match check {
            Some(check) => q.bind(Bind::Int(check.generation)),
            None => q,
        }
    };
    let mut query = CachedSql::new(caller_sql(check.is_some(), with_lists));
    if let Some(check) = check {
        query = query.bind(Bind::Text(check.session_id.clone())).bind(Bind::Time(check.now)).bind(Bind::Time(check.idle_since));
    }
    query = account(query);
    for _ in 0..2 {
        query = account(query).bind(Bind::Time(t)).bind(Bind::Time(t));
    }
    let mut last_activity_at = None;
    let mut caller = None;
    let mut profile_rows: Vec<(String, String)> = Vec::new();
    let mut acting_rows = Vec::new();
    let mut code_lists = with_lists.then(Vec::new);
    for (route, admin, (id, family, given, rpps, email, category), center, kind, via_group_id, valid_from, valid_until) in
        query.load::<Row>(conn)?
    {
        if route == "caller" {
            profile_rows.extend(center.zip(kind));
            last_activity_at = last_activity_at.or(valid_from);
            caller.get_or_insert((admin.unwrap_or(false), (id, family, given, rpps, email, category)));
        } else if route == "list" {
            // The list's version and load come in the `rpps` and `email` columns.
            code_lists.get_or_insert_with(Vec::new).push(CurrentList { system: id, version: rpps, load_id: email });
        } else {
            acting_rows.push(ActingForRow { physician_id: id, family, given, via_group_id, valid_from, valid_until });
        }
    }
    let Some((is_platform_admin, (id, family, given, rpps, email, category))) = caller else {
        return Ok(None);
    };
    let category =
        category.ok_or_else(|| Error::Database(diesel::result::Error::DeserializationError("a professional without a category".into())))?;
    let professional = Professional { id, family_name: family, given_name: given, rpps, email, category: Category::parse(&category)? };
    profile_rows.sort();
    let profiles = profile_rows
        .into_iter()
        .map(|(cancer_center_id, kind)| Ok(Profile { cancer_center_id, kind: ProfileKind::parse(&kind)? }))
        .collect::<Result<Vec<_>, Error>>()?;
    let named = affiliations::named(acting_rows);
    let principal = Principal::new(
        account_id.to_owned(),
        professional.id.clone(),
        professional.category,
        is_platform_admin,
        profiles,
        named.iter().map(|a| a.acting_for.clone()).collect(),
    );
    // `/me` names P(S) only where the rules count it (`Principal::new` decides).
    let acting_for = if principal.acting_for.is_empty() { Vec::new() } else { named };
    Ok(Some(LoadedCaller { principal, professional, acting_for, last_activity_at, code_lists }))
}

/// [`load_caller`]'s statement: the account with its professional and profiles (`caller` rows),
/// then the physicians its professional acts for directly (`direct`) and through groups
/// (`group`), each branch on the account's own conditions, so a disabled account or an old token
/// reads nothing at all. Every request reads the rights: one round trip, not two. Hand-written
/// because diesel's MultiConnection has no UNION. A dated delegation grants only between its
/// dates, checked at each request: the `?` after each account are now.
fn caller_sql(with_token: bool, with_lists: bool) -> String {
    let account = if with_token { "a.id = ? AND a.active AND a.token_generation = ?" } else { "a.id = ? AND a.active" };
    // The token's login session, open: its last activity comes in the `valid_from` column. Only
    // the `caller` rows need it: without them the other rows are ignored.
    let (session, activity) = if with_token {
        (
            " JOIN login_sessions ls ON ls.account_id = a.id AND ls.id = ? AND ls.ended_at IS NULL \
             AND ls.expires_at > ? AND ls.last_activity_at > ?",
            "ls.last_activity_at",
        )
    } else {
        ("", "NULL")
    };
    // A handful of rows, by the primary key's order; read only by the requests that ask.
    let lists = if with_lists {
        " UNION ALL SELECT 'list', NULL, cs.name, cs.name, cs.name, cs.version, cs.load_id, NULL, NULL, NULL, NULL, NULL, NULL \
         FROM code_systems cs"
    } else {
        ""
    };
    format!(
        "SELECT 'caller', a.is_platform_admin, p.id, p.family_name, p.given_name, p.rpps, p.email, p.category, \
         f.cancer_center_id, f.kind, NULL, {activity}, NULL \
         FROM accounts a{session} JOIN professionals p ON p.id = a.professional_id LEFT JOIN profiles f ON f.professional_id = p.id \
         WHERE {account} \
         UNION ALL SELECT 'direct', NULL, p.id, p.family_name, p.given_name, NULL, NULL, NULL, NULL, NULL, NULL, s.valid_from, s.valid_until \
         FROM accounts a JOIN secretary_affiliations s ON s.secretary_id = a.professional_id JOIN professionals p ON p.id = s.physician_id \
         WHERE {account} AND (s.valid_from IS NULL OR s.valid_from <= ?) AND (s.valid_until IS NULL OR s.valid_until > ?) \
         UNION ALL SELECT 'group', NULL, p.id, p.family_name, p.given_name, NULL, NULL, NULL, NULL, NULL, g.group_id, g.valid_from, g.valid_until \
         FROM accounts a JOIN secretary_group_members m ON m.secretary_id = a.professional_id \
         JOIN physician_secretary_groups g ON g.group_id = m.group_id JOIN professionals p ON p.id = g.physician_id \
         WHERE {account} AND (g.valid_from IS NULL OR g.valid_from <= ?) AND (g.valid_until IS NULL OR g.valid_until > ?){lists}"
    )
}

/// [`load_caller`] without the names.
pub fn load_principal(conn: &mut DbConnection, account_id: &str) -> Result<Option<(Principal, Professional)>, Error> {
    Ok(load_caller(conn, account_id, None)?.map(|c| (c.principal, c.professional)))
}
