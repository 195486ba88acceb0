//! Constructors for [`Plan`].

use crate::{Action, Plan};

impl Plan {
    /// A converged host: no actions, and why.
    pub fn nothing(reason: impl Into<String>) -> Self {
        Plan { actions: Vec::new(), reason: Some(reason.into()) }
    }

    /// Actions, with a reason that becomes the "nothing to do" message when
    /// the list turns out empty.
    pub fn new(actions: Vec<Action>, reason_if_empty: impl Into<String>) -> Self {
        let reason = if actions.is_empty() { Some(reason_if_empty.into()) } else { None };
        Plan { actions, reason }
    }
}

impl From<Vec<Action>> for Plan {
    fn from(actions: Vec<Action>) -> Self {
        Plan { actions, reason: None }
    }
}
