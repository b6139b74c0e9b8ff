//! Domain types built by parsing: past the API edge an invalid email, blank name,
//! weak password or unknown role cannot exist.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    RestrictedAdmin,
    Partner,
    Distributor,
    Fulfiller,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::RestrictedAdmin,
        Role::Partner,
        Role::Distributor,
        Role::Fulfiller,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::RestrictedAdmin => "restricted_admin",
            Role::Partner => "partner",
            Role::Distributor => "distributor",
            Role::Fulfiller => "fulfiller",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

/// The authenticated caller, as every guard and scoped query sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub email: String,
    pub role: Role,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

/// A lower-cased, trimmed email address of plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let e = raw.trim().to_lowercase();
        if e.is_empty() {
            return Err("required");
        }
        if e.len() > 254 {
            return Err("too_long");
        }
        if is_address(&e) {
            Ok(Email(e))
        } else {
            Err("invalid_email")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address as people and mail servers use them: a dot-atom local part (letters,
/// digits, ``!#$%&'*+/=?^_`{|}~-``, dots between them; non-ASCII letters allowed) of at
/// most 64 characters, `@`, and a domain of at least two labels (letters, digits and
/// inner hyphens, 1–63 each) whose last is a name of two letters or more (or `xn--`).
/// `a@example.com*`, `<script>@x.y`, `a..b@x.fr` and `a@localhost` are refused.
pub fn is_address(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext));
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld_ok = labels.last().is_some_and(|t| {
        t.starts_with("xn--") || (t.chars().count() >= 2 && t.chars().all(char::is_alphabetic))
    });
    local_ok && labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

/// Characters that take no room on screen: zero-width spaces and joiners, the word
/// joiner, the byte-order mark, the soft hyphen, bidi marks.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// A trimmed, non-blank display name of at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Name, &'static str> {
        let n = raw.trim();
        if n.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
            Err("required")
        } else if n.chars().count() > 200 {
            Err("too_long")
        } else if n.chars().any(char::is_control) {
            Err("invalid_characters")
        } else {
            Ok(Name(n.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of 8 to 256 characters. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Password {
    pub fn parse(raw: &str) -> Result<Password, &'static str> {
        let n = raw.chars().count();
        if n == 0 {
            Err("required")
        } else if n < 8 {
            Err("too_short")
        } else if n > 256 {
            Err("too_long")
        } else {
            Ok(Password(raw.to_owned()))
        }
    }
    /// A password as presented at login: any non-empty text (the strength policy is
    /// for setting one, not for trying one), bounded so hashing stays cheap.
    pub fn presented(raw: &str) -> Result<Password, &'static str> {
        match raw.chars().count() {
            0 => Err("required"),
            n if n > 1024 => Err("too_long"),
            _ => Ok(Password(raw.to_owned())),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The role stored on a user row (an unknown one is a corrupt row).
pub fn role_of(
    user: &tentabo_schema::models::organisations::User,
) -> Result<Role, crate::WorkflowError> {
    user.role.parse().map_err(|()| {
        crate::WorkflowError::Internal(format!("unknown role {:?} in database", user.role))
    })
}

/// The rows a caller may touch, as applied in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowScope {
    All,
    /// The distributor's own rows and those of its attached partners.
    DistributorAndAttached(Uuid),
    /// The distributor's own rows only.
    Distributor(Uuid),
    /// The partner organisation's rows.
    Partner(Uuid),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").map(|e| e.0),
            Ok("alice@example.com".to_owned())
        );
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@.example.com",
            "a@b@c.com",
            "a@example.com*",
            "<script>@x.yz",
            "a@x.y",
            "a..b@example.com",
            ".a@example.com",
            "a@-x.com",
            "a@x_y.com",
            "a@example.c0m",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
        for good in [
            "o'brien+tag@sub.example.co.uk",
            "jörg.müller@exämple.de",
            "x@xn--bcher-kva.example",
            "a_b-c@x-y.fr",
        ] {
            assert!(Email::parse(good).is_ok(), "{good} refused");
        }
        assert_eq!(Email::parse(""), Err("required"));
    }

    #[test]
    fn names_and_passwords_have_bounds() {
        assert_eq!(Name::parse("  Acme  ").map(|n| n.0), Ok("Acme".to_owned()));
        assert_eq!(Name::parse("   "), Err("required"));
        assert_eq!(Name::parse("\u{200b}\u{200b} \u{feff}"), Err("required"));
        assert_eq!(
            Name::parse("Zoë\u{200d}"),
            Ok(Name("Zoë\u{200d}".to_owned()))
        );
        assert_eq!(Name::parse(&"x".repeat(201)), Err("too_long"));
        assert_eq!(Password::parse("short"), Err("too_short"));
        assert!(Password::parse("long enough").is_ok());
        assert_eq!(
            format!(
                "{:?}",
                Password::parse("hunter2hunter2").unwrap_or_else(|_| unreachable!())
            ),
            "Password([REDACTED])"
        );
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
