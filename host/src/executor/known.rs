//! What a host run already knows about its host, to save round trips, and
//! when that knowledge goes stale: the last facts (valid until an action
//! changes something), the next step's facts and probes read by the
//! previous step's last batch, and later steps' probes read ahead while the
//! host changes nothing.

use crate::model::{FactSet, HostFacts, ProbeResult};
use std::collections::BTreeMap;

/// Probe results by name.
pub type Probes = BTreeMap<String, ProbeResult>;
/// Facts and one step's probes.
pub type Gathered = (HostFacts, Probes);

/// The three kinds of knowledge, in one place.
#[derive(Debug, Default)]
pub struct Known {
    /// The facts last read (none once something changed).
    facts: Option<HostFacts>,
    /// The next step's facts and probes, read at the end of this step.
    next: Option<Gathered>,
    /// Later steps' probes read ahead, by step number.
    ahead: BTreeMap<usize, Probes>,
}

impl Known {
    /// What can be used for step `step`, whose plugin reads the fact
    /// groups `needs`, without a round trip.
    pub fn take(&mut self, step: usize, needs: FactSet) -> Option<Gathered> {
        if let Some(g) = self.next.take() {
            self.ahead.remove(&step);
            return Some(g);
        }
        let facts = self.facts.as_ref().filter(|f| f.gathered.covers(needs))?.clone();
        Some((facts, self.ahead.remove(&step)?))
    }

    /// The facts, while nothing changed since they were read.
    pub fn facts(&self) -> Option<&HostFacts> {
        self.facts.as_ref()
    }

    /// Facts were just read (or handed over).
    pub fn read(&mut self, facts: HostFacts) {
        self.facts = Some(facts);
    }

    /// The last batch read the next step's facts and probes after its actions.
    pub fn prefetched(&mut self, next: Gathered) {
        self.next = Some(next);
    }

    /// Probes of later steps, read while the host changed nothing.
    pub fn ahead(&mut self, by_step: BTreeMap<usize, Probes>) {
        self.ahead = by_step;
    }

    /// An action changed (or may have changed) the host: what was read
    /// before it is stale. (What a batch read after its actions is not.)
    pub fn changed(&mut self) {
        self.facts = None;
        self.ahead.clear();
    }

    /// Other hosts may change what probes read (the cluster) while this one
    /// waits for a variable: probes read ahead are dropped.
    pub fn forget_ahead(&mut self) {
        self.ahead.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(host: &str) -> HostFacts {
        HostFacts { hostname: host.into(), ..HostFacts::default() }
    }

    impl Known {
        fn take_all(&mut self, step: usize) -> Option<Gathered> {
            self.take(step, FactSet::EMPTY)
        }
    }

    fn probes(v: &str) -> Probes {
        [("p".to_string(), ProbeResult { exit_code: 0, stdout: v.into() })].into()
    }

    #[test]
    fn nothing_is_known_at_first_and_prefetched_comes_first() {
        let mut k = Known::default();
        assert!(k.take_all(1).is_none());
        k.read(facts("a"));
        k.ahead([(2, probes("ahead"))].into());
        k.prefetched((facts("b"), probes("next")));
        let (f, p) = k.take_all(2).unwrap();
        assert_eq!((f.hostname.as_str(), p["p"].stdout.as_str()), ("b", "next"));
        // The read-ahead entry for step 2 was used up with it.
        assert!(k.take_all(2).is_none());
    }

    #[test]
    fn a_change_makes_facts_and_read_ahead_stale() {
        let mut k = Known::default();
        k.read(facts("a"));
        k.ahead([(2, probes("x")), (3, probes("y"))].into());
        assert_eq!(k.take_all(2).unwrap().1["p"].stdout, "x");
        k.changed();
        assert!(k.facts().is_none() && k.take_all(3).is_none(), "stale after a change");
        k.read(facts("a"));
        k.ahead([(4, probes("z"))].into());
        k.forget_ahead();
        assert!(k.take_all(4).is_none(), "dropped while waiting for a variable");
        assert!(k.facts().is_some(), "the facts stay: this host did not change");
    }

    #[test]
    fn facts_that_lack_a_group_the_step_reads_are_not_enough() {
        use crate::model::FactGroup;
        let mut k = Known::default();
        k.read(HostFacts { gathered: [FactGroup::Selinux].into_iter().collect(), ..facts("a") });
        k.ahead([(2, probes("x"))].into());
        assert!(k.take(2, [FactGroup::Modules].into_iter().collect()).is_none(), "modules were not read");
        let (f, p) = k.take(2, [FactGroup::Selinux].into_iter().collect()).expect("the read-ahead probes are still there");
        assert_eq!((f.hostname.as_str(), p["p"].stdout.as_str()), ("a", "x"));
    }
}
