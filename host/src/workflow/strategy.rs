//! Rolling strategies: a step that runs on its target hosts in batches,
//! stopping the rollout when too many fail (`strategy = { serial = 2,
//! max_fail = "10%" }` on a step, or as the `[workflow]` default).

use crate::diagnostic::{Source, SourceError};
use serde::Deserialize;
use toml::Spanned;

/// `strategy = { ... }` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStrategy {
    /// Hosts per batch: a count, or a percentage of the step's hosts (`"20%"`).
    pub serial: Option<Spanned<toml::Value>>,
    /// The same as `serial`, in Kubernetes' words (hosts unavailable at once).
    pub max_unavailable: Option<Spanned<toml::Value>>,
    /// Failed hosts tolerated before the rollout stops: a count or a
    /// percentage of the step's hosts (default 0: the first failure stops it).
    pub max_fail: Option<Spanned<toml::Value>>,
}

/// A count, or a percentage of the step's hosts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// That many hosts.
    Count(usize),
    /// That share of the step's hosts.
    Percent(f64),
}

impl Amount {
    /// The number of hosts out of `n`: percentages round up for batch sizes
    /// (`up`) and down for failure allowances.
    pub fn of(self, n: usize, up: bool) -> usize {
        match self {
            Amount::Count(c) => c,
            Amount::Percent(p) if up => ((p / 100.0) * n as f64).ceil() as usize,
            Amount::Percent(p) => ((p / 100.0) * n as f64).floor() as usize,
        }
    }
}

/// A validated strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strategy {
    /// Hosts per batch.
    pub serial: Amount,
    /// Failures tolerated over the whole rollout.
    pub max_fail: Amount,
}

impl Strategy {
    /// The batches of `hosts` (in order): `serial` of them each, at least one.
    pub fn batches(&self, hosts: &[usize]) -> Vec<Vec<usize>> {
        let size = self.serial.of(hosts.len(), true).max(1);
        hosts.chunks(size).map(<[usize]>::to_vec).collect()
    }

    /// How many failed hosts the rollout tolerates for `n` hosts.
    pub fn tolerated(&self, n: usize) -> usize {
        self.max_fail.of(n, false)
    }

    /// Check a written strategy; errors point at the offending value.
    pub fn from_raw(raw: &Spanned<RawStrategy>, source: &Source) -> Result<Strategy, Box<SourceError>> {
        let r = raw.get_ref();
        let serial = match (&r.serial, &r.max_unavailable) {
            (Some(_), Some(m)) => {
                return Err(Box::new(source.error(m.span(), "give serial or max_unavailable, not both", "second batch size")));
            }
            (Some(v), None) | (None, Some(v)) => amount(v, source, 1)?,
            (None, None) => return Err(Box::new(source.error(raw.span(), "a strategy needs serial (hosts per batch)", "here"))),
        };
        let max_fail = match &r.max_fail {
            Some(v) => amount(v, source, 0)?,
            None => Amount::Count(0),
        };
        Ok(Strategy { serial, max_fail })
    }
}

fn amount(v: &Spanned<toml::Value>, source: &Source, min: i64) -> Result<Amount, Box<SourceError>> {
    let bad = || Box::new(source.error(v.span(), format!("expected a count of at least {min} or a percentage like \"20%\""), "here"));
    match v.get_ref() {
        toml::Value::Integer(n) if *n >= min => Ok(Amount::Count(*n as usize)),
        toml::Value::String(s) => {
            let p: f64 = s.strip_suffix('%').and_then(|n| n.trim().parse().ok()).ok_or_else(bad)?;
            if (min == 1 && p <= 0.0) || !(0.0..=100.0).contains(&p) {
                return Err(bad());
            }
            Ok(Amount::Percent(p))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_allowances() {
        let s = Strategy { serial: Amount::Percent(50.0), max_fail: Amount::Percent(50.0) };
        assert_eq!(s.batches(&[0, 1, 2]), vec![vec![0, 1], vec![2]], "50% of 3 rounds up to 2 per batch");
        assert_eq!(s.tolerated(3), 1, "50% of 3 failures rounds down to 1");
        let one = Strategy { serial: Amount::Count(1), max_fail: Amount::Count(0) };
        assert_eq!(one.batches(&[4, 7]), vec![vec![4], vec![7]]);
        assert_eq!(one.tolerated(10), 0);
        let tiny = Strategy { serial: Amount::Percent(1.0), max_fail: Amount::Count(0) };
        assert_eq!(tiny.batches(&[0, 1]), vec![vec![0], vec![1]], "never an empty batch");
    }
}
