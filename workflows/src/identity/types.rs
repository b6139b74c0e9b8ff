//! Domain types built by parsing: past the API edge an invalid email, blank name,
//! weak password or unknown role cannot exist.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
        let Some((local, domain)) = e.split_once('@') else {
            return Err("invalid_email");
        };
        let ok = !local.is_empty()
            && !domain.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain.contains('.')
            && !e.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@');
        if ok {
            Ok(Email(e))
        } else {
            Err("invalid_email")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A trimmed, non-blank display name of at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Name, &'static str> {
        let n = raw.trim();
        if n.is_empty() {
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
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(Email::parse(""), Err("required"));
    }

    #[test]
    fn names_and_passwords_have_bounds() {
        assert_eq!(Name::parse("  Acme  ").map(|n| n.0), Ok("Acme".to_owned()));
        assert_eq!(Name::parse("   "), Err("required"));
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
