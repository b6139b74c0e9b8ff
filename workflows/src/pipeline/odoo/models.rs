//! The Odoo models the mapper knows, the fields it reads of each, and the reference
//! models (`crm.stage`, `res.country`) it resolves many2one ids through.

use super::*;

/// The Odoo models the mapper knows, and the canonical entity of each.
pub const MODELS: &[(&str, &[Entity])] = &[
    ("res.partner", &[Entity::Organization, Entity::Contact]),
    ("crm.lead", &[Entity::Lead]),
    ("sale.order", &[Entity::Order]),
    ("product.product", &[Entity::Product]),
];

/// The mapped model of that name (as a `'static` name), if the mapper knows it.
pub fn known_model(name: &str) -> Option<&'static str> {
    MODELS.iter().map(|(m, _)| *m).find(|m| *m == name)
}

/// The model a canonical entity is read from.
pub fn model_of(entity: Entity) -> Option<&'static str> {
    MODELS
        .iter()
        .find(|(_, es)| es.contains(&entity))
        .map(|(m, _)| *m)
}

/// The fields to ask Odoo for, per reference model (a mapped model's fields come from
/// its mapping: [`OdooMapper::fields`]).
pub fn fields_of(model: &str) -> &'static [&'static str] {
    match model {
        "crm.stage" => &["name", "is_won", "sequence"],
        "res.country" => &["code", "name"],
        _ => &[],
    }
}

/// The small models a model's mapping reads beside its records (read whole at the
/// start of a run, kept in the raw zone).
pub fn reference_models(model: &str) -> &'static [&'static str] {
    match model {
        "crm.lead" => &["crm.stage", "res.country"],
        _ => &[],
    }
}

/// A `crm.stage` as the mapper needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Stage {
    pub name: String,
    #[serde(default)]
    pub is_won: bool,
}

/// Reference data of a run: stages by id, country codes by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    pub stages: HashMap<i64, Stage>,
    pub countries: HashMap<i64, String>,
}

impl Reference {
    /// Reads reference records (JSON objects as Odoo sends them) of `model`; records of
    /// another shape are skipped (a reference record never stops a run).
    pub fn add(&mut self, model: &str, bodies: &[&str]) {
        #[derive(Deserialize)]
        struct Country {
            id: i64,
            code: Option<serde_json::Value>,
        }
        #[derive(Deserialize)]
        struct StageRow {
            id: i64,
            name: serde_json::Value,
            #[serde(default)]
            is_won: serde_json::Value,
        }
        for body in bodies {
            match model {
                "crm.stage" => {
                    if let Ok(s) = serde_json::from_str::<StageRow>(body)
                        && let serde_json::Value::String(name) = s.name
                    {
                        let is_won = s.is_won == serde_json::Value::Bool(true);
                        self.stages.insert(s.id, Stage { name, is_won });
                    }
                }
                "res.country" => {
                    if let Ok(c) = serde_json::from_str::<Country>(body)
                        && let Some(serde_json::Value::String(code)) = c.code
                    {
                        self.countries.insert(c.id, code);
                    }
                }
                _ => {}
            }
        }
    }
}
