//! Accounts: the login of a professional, and the principal loaded on every request.

use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, Professional};
use concerto_domain::profile::{Profile, ProfileKind};
use concerto_domain::rules;
use diesel::prelude::*;

use crate::affiliations::ActingForNamed;
use crate::professionals::{self, NewProfessional};
use crate::schema::{accounts, professionals as professionals_t, profiles};
use crate::{DbConnection, Error, affiliations, new_id, now};

/// What a login is checked against.
#[derive(Debug, Clone)]
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

type CredentialsRow = (String, String, bool, i64, String);

const CREDENTIALS: (accounts::id, accounts::password_hash, accounts::active, accounts::token_generation, accounts::username) =
    (accounts::id, accounts::password_hash, accounts::active, accounts::token_generation, accounts::username);

fn to_credentials((account_id, password_hash, active, token_generation, username): CredentialsRow) -> Credentials {
    Credentials { account_id, password_hash, active, token_generation, username }
}

/// The credentials of a username, if such an account exists.
pub fn credentials(conn: &mut DbConnection, username: &str) -> Result<Option<Credentials>, Error> {
    let row = accounts::table
        .filter(accounts::username.eq(normalize_username(username)))
        .select(CREDENTIALS)
        .first::<CredentialsRow>(conn)
        .optional()?;
    Ok(row.map(to_credentials))
}

/// The credentials of an account, by id (`POST /me/password` checks the current password).
pub fn credentials_of(conn: &mut DbConnection, account_id: &str) -> Result<Credentials, Error> {
    let row = accounts::table.find(account_id).select(CREDENTIALS).first::<CredentialsRow>(conn).optional()?;
    row.map(to_credentials).ok_or(Error::NotFound("account"))
}

/// Replaces an account's password and moves its token generation on, so every token issued
/// before stops working at once. `read_generation` is the generation the caller's current
/// password was checked against: a concurrent change in between makes this one a 409.
pub fn change_password(conn: &mut DbConnection, account_id: &str, read_generation: i64, password_hash: &str) -> Result<(), Error> {
    let n = diesel::update(accounts::table.find(account_id).filter(accounts::token_generation.eq(read_generation)))
        .set((accounts::password_hash.eq(password_hash), accounts::token_generation.eq(accounts::token_generation + 1)))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::conflict("password_changed", "the password was changed meanwhile; log in again"));
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
        return Err(Error::conflict("username_taken", "this username is already used"));
    }
    let has_account =
        accounts::table.filter(accounts::professional_id.eq(professional_id)).select(accounts::id).first::<String>(conn).optional()?;
    if has_account.is_some() {
        return Err(Error::conflict("account_exists", "this professional already has an account"));
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
pub fn set_active(conn: &mut DbConnection, p: &Principal, id: &str, active: bool) -> Result<Account, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
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

/// The caller behind a token, with the names of the physicians she acts for (what `/me` shows).
#[derive(Debug, Clone)]
pub struct LoadedCaller {
    /// Rights and relations.
    pub principal: Principal,
    /// The professional behind the account.
    pub professional: Professional,
    /// P(S) with its routes and the physicians' names.
    pub acting_for: Vec<ActingForNamed>,
}

/// The caller behind a token's subject, in two round trips (account, professional and profiles
/// in one; the physicians she acts for in the other): `None` when the account is unknown or
/// disabled, or, given the token's generation, when the token was issued in an earlier
/// generation of the account (before a password change or a disable).
pub fn load_caller(conn: &mut DbConnection, account_id: &str, token_generation: Option<i64>) -> Result<Option<LoadedCaller>, Error> {
    let mut query = accounts::table
        .inner_join(professionals_t::table)
        .left_join(profiles::table.on(profiles::professional_id.eq(professionals_t::id)))
        .filter(accounts::id.eq(account_id))
        .filter(accounts::active.eq(true))
        .select((accounts::is_platform_admin, professionals::COLUMNS, profiles::cancer_center_id.nullable(), profiles::kind.nullable()))
        .order((profiles::cancer_center_id, profiles::kind))
        .into_boxed();
    if let Some(generation) = token_generation {
        query = query.filter(accounts::token_generation.eq(generation));
    }
    let rows =
        query.load::<(bool, (String, String, String, Option<String>, Option<String>, String), Option<String>, Option<String>)>(conn)?;
    let Some((is_platform_admin, prof_row, _, _)) = rows.first().cloned() else {
        return Ok(None);
    };
    let profiles = rows
        .into_iter()
        .filter_map(|(_, _, center, kind)| center.zip(kind))
        .map(|(cancer_center_id, kind)| Ok(Profile { cancer_center_id, kind: ProfileKind::parse(&kind)? }))
        .collect::<Result<Vec<_>, Error>>()?;
    let professional = professionals::from_row(prof_row)?;
    // P(S) counts only for a secretary profile (delegation rules, `/me`): nobody else pays the
    // round trip.
    let acting_for = if profiles.iter().any(|pr| pr.kind == ProfileKind::Secretary) {
        affiliations::acting_for_named(conn, &professional.id)?
    } else {
        Vec::new()
    };
    let principal = Principal {
        account_id: account_id.to_owned(),
        professional_id: professional.id.clone(),
        category: professional.category,
        is_platform_admin,
        profiles,
        acting_for: acting_for.iter().map(|a| a.acting_for.clone()).collect(),
    };
    Ok(Some(LoadedCaller { principal, professional, acting_for }))
}

/// [`load_caller`] without the names.
pub fn load_principal(conn: &mut DbConnection, account_id: &str) -> Result<Option<(Principal, Professional)>, Error> {
    Ok(load_caller(conn, account_id, None)?.map(|c| (c.principal, c.professional)))
}
